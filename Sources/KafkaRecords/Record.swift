import NIOCore

/// One decoded record of a v2 batch, with its absolute offset and timestamp.
///
/// Keys, values and header values are `ByteBuffer` slices: for uncompressed batches they share storage with the batch.
///
/// Wire layout inside the batch's records section (varints are zigzag):
/// `length varint, attributes int8, timestampDelta varlong, offsetDelta varint, keyLength varint (-1 = null), key,
/// valueLength varint (-1 = null), value, headersCount varint`, then per header
/// `keyLength varint, key (UTF-8), valueLength varint (-1 = null), value`.
public struct Record: Sendable, Hashable {
    /// `baseOffset + offsetDelta`.
    public var offset: Int64
    /// `baseTimestamp + timestampDelta`, or the batch's `maxTimestamp` when the batch uses `LogAppendTime`.
    public var timestamp: Int64
    /// The key, or `nil` for a null key.
    public var key: ByteBuffer?
    /// The value, or `nil` for a null value (a tombstone on compacted topics).
    public var value: ByteBuffer?
    /// The headers, in wire order.
    public var headers: [RecordHeader]

    /// Creates a record.
    public init(offset: Int64, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}
