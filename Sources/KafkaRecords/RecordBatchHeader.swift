import NIOCore

/// The fixed 61-byte header of a v2 record batch as values, read from any buffer at any index: what code that
/// walks batches without holding one batch's bytes uses (the log reading a file chunk, Produce counting records).
/// The layout is `RecordBatch`'s, written once there (`RecordBatch.Offset`); this is its only other reader.
public struct RecordBatchHeader: Sendable, Equatable {
    public var baseOffset: Int64
    /// Bytes after `baseOffset` and `batchLength` (`RecordBatch.logOverhead`).
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerID: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    /// Reads the header at `index`; nil when fewer than `RecordBatch.headerSize` bytes are there. Nothing is
    /// checked: callers check `magic`, lengths and the CRC as they need.
    public init?(parsing buffer: ByteBuffer, at index: Int) {
        typealias Offset = RecordBatch.Offset
        guard index >= buffer.readerIndex, index + RecordBatch.headerSize <= buffer.writerIndex,
            let baseOffset = buffer.getInteger(at: index + Offset.baseOffset, as: Int64.self),
            let batchLength = buffer.getInteger(at: index + Offset.batchLength, as: Int32.self),
            let partitionLeaderEpoch = buffer.getInteger(at: index + Offset.partitionLeaderEpoch, as: Int32.self),
            let magic = buffer.getInteger(at: index + Offset.magic, as: Int8.self),
            let crc = buffer.getInteger(at: index + Offset.crc, as: UInt32.self),
            let attributes = buffer.getInteger(at: index + Offset.attributes, as: Int16.self),
            let lastOffsetDelta = buffer.getInteger(at: index + Offset.lastOffsetDelta, as: Int32.self),
            let baseTimestamp = buffer.getInteger(at: index + Offset.baseTimestamp, as: Int64.self),
            let maxTimestamp = buffer.getInteger(at: index + Offset.maxTimestamp, as: Int64.self),
            let producerID = buffer.getInteger(at: index + Offset.producerID, as: Int64.self),
            let producerEpoch = buffer.getInteger(at: index + Offset.producerEpoch, as: Int16.self),
            let baseSequence = buffer.getInteger(at: index + Offset.baseSequence, as: Int32.self),
            let recordCount = buffer.getInteger(at: index + Offset.recordCount, as: Int32.self)
        else { return nil }
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// The whole batch's size: `batchLength` plus the 12 bytes before it.
    public var sizeInBytes: Int { RecordBatch.logOverhead + Int(batchLength) }
    public var lastOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) }
    public var nextOffset: Int64 { lastOffset &+ 1 }
    public var compression: CompressionCodec? {
        CompressionCodec(rawValue: attributes & RecordBatch.AttributeBit.compressionMask)
    }
    public var isTransactional: Bool { attributes & RecordBatch.AttributeBit.transactional != 0 }
    public var isControl: Bool { attributes & RecordBatch.AttributeBit.control != 0 }
}

extension RecordBatch {
    /// Every header field as a value.
    public var header: RecordBatchHeader { RecordBatchHeader(parsing: buffer, at: buffer.readerIndex)! }
}
