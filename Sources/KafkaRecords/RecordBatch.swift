import NIOCore

/// A lazy view over the bytes of one Kafka record batch, format v2 (magic 2).
///
/// Header fields are read in place at fixed offsets; records are decoded only when `records()` is called. The
/// broker's hot path validates a produced batch and patches it in place without decoding or recompressing records.
///
/// Byte layout (big-endian; offsets from the start of the batch):
///
/// | offset | field                | type   | notes                                                        |
/// |-------:|----------------------|--------|--------------------------------------------------------------|
/// |      0 | baseOffset           | int64  | outside the CRC: the broker assigns it                       |
/// |      8 | batchLength          | int32  | bytes after this field (total size - 12)                     |
/// |     12 | partitionLeaderEpoch | int32  | outside the CRC: the leader stamps it                        |
/// |     16 | magic                | int8   | 2                                                            |
/// |     17 | crc                  | uint32 | CRC-32C of bytes 21..<end                                    |
/// |     21 | attributes           | int16  | bits 0-2 compression, 3 timestamp type, 4 transactional,     |
/// |        |                      |        | 5 control, 6 has delete horizon                              |
/// |     23 | lastOffsetDelta      | int32  |                                                              |
/// |     27 | baseTimestamp        | int64  |                                                              |
/// |     35 | maxTimestamp         | int64  |                                                              |
/// |     43 | producerId           | int64  |                                                              |
/// |     51 | producerEpoch        | int16  |                                                              |
/// |     53 | baseSequence         | int32  |                                                              |
/// |     57 | recordCount          | int32  |                                                              |
/// |     61 | records              | bytes  | `recordCount` records, compressed as one blob if compressed  |
///
/// The view holds a `ByteBuffer` whose readable bytes are exactly one batch (it may be a slice of a larger buffer).
/// Creating the view checks only that the fixed header is present; call `validate()` before trusting the rest.
public struct RecordBatch: Sendable {
    /// Size of the fixed header, i.e. the offset of the first record.
    public static let headerSize = 61
    /// Size of `baseOffset` + `batchLength`: `batchLength` counts the bytes after these.
    public static let logOverhead = 12
    /// The only supported magic value.
    public static let currentMagic: Int8 = 2
    /// The smallest on-wire record: one byte each for length, attributes, timestampDelta, offsetDelta, keyLength,
    /// valueLength and headersCount.
    static let minimumRecordSize = 7

    /// Where each header field starts (the table above). `RecordBatchHeader` reads with these too.
    public enum Offset {
        public static let baseOffset = 0
        public static let batchLength = 8
        public static let partitionLeaderEpoch = 12
        public static let magic = 16
        public static let crc = 17
        public static let attributes = 21
        public static let lastOffsetDelta = 23
        public static let baseTimestamp = 27
        public static let maxTimestamp = 35
        public static let producerID = 43
        public static let producerEpoch = 51
        public static let baseSequence = 53
        public static let recordCount = 57
    }

    enum AttributeBit {
        static let compressionMask: Int16 = 0x07
        static let timestampType: Int16 = 0x08
        static let transactional: Int16 = 0x10
        static let control: Int16 = 0x20
        static let deleteHorizon: Int16 = 0x40
    }

    /// The batch bytes: the readable bytes are the whole batch.
    public private(set) var buffer: ByteBuffer

    /// Wraps the readable bytes of `buffer` as one batch. Throws `.truncated` if they are shorter than the header.
    public init(buffer: ByteBuffer) throws(RecordBatchError) {
        guard buffer.readableBytes >= Self.headerSize else {
            throw RecordBatchError(
                .truncated,
                "record batch has \(buffer.readableBytes) bytes, fewer than the \(Self.headerSize)-byte header"
            )
        }
        self.buffer = buffer
    }

    // MARK: Header fields, read in place

    private func read<T: FixedWidthInteger>(_ offset: Int, as type: T.Type = T.self) -> T {
        // In bounds: init guarantees at least `headerSize` readable bytes and every offset is inside the header.
        buffer.getInteger(at: buffer.readerIndex + offset, as: T.self)!
    }

    /// The offset of the first record. Outside the CRC.
    public var baseOffset: Int64 { read(Offset.baseOffset) }
    /// Number of bytes after the `batchLength` field.
    public var batchLength: Int32 { read(Offset.batchLength) }
    /// The leader epoch stamped by the partition leader. Outside the CRC.
    public var partitionLeaderEpoch: Int32 { read(Offset.partitionLeaderEpoch) }
    /// The format version; 2 for every batch this type accepts.
    public var magic: Int8 { read(Offset.magic) }
    /// The stored CRC-32C of everything from `attributes` to the end.
    public var crc: UInt32 { read(Offset.crc) }
    /// The raw attributes bits.
    public var attributes: Int16 { read(Offset.attributes) }
    /// `lastOffset - baseOffset`.
    public var lastOffsetDelta: Int32 { read(Offset.lastOffsetDelta) }
    /// The timestamp the records' timestamp deltas are relative to.
    public var baseTimestamp: Int64 { read(Offset.baseTimestamp) }
    /// The largest record timestamp, or the broker's append time for `LogAppendTime` batches.
    public var maxTimestamp: Int64 { read(Offset.maxTimestamp) }
    /// The idempotent/transactional producer id, or -1.
    public var producerID: Int64 { read(Offset.producerID) }
    /// The producer epoch, or -1.
    public var producerEpoch: Int16 { read(Offset.producerEpoch) }
    /// The sequence number of the first record, or -1.
    public var baseSequence: Int32 { read(Offset.baseSequence) }
    /// The number of records the header declares.
    public var recordCount: Int32 { read(Offset.recordCount) }

    /// The compression codec, or `nil` if the compression bits name no known codec.
    public var compression: CompressionCodec? { CompressionCodec(rawValue: attributes & AttributeBit.compressionMask) }
    /// Whose clock the timestamps come from.
    public var timestampType: TimestampType {
        attributes & AttributeBit.timestampType != 0 ? .logAppendTime : .createTime
    }
    /// Whether the batch belongs to a transaction.
    public var isTransactional: Bool { attributes & AttributeBit.transactional != 0 }
    /// Whether the batch holds control records (transaction markers).
    public var isControl: Bool { attributes & AttributeBit.control != 0 }
    /// Whether `baseTimestamp` holds the delete horizon set by log compaction.
    public var hasDeleteHorizon: Bool { attributes & AttributeBit.deleteHorizon != 0 }

    /// `baseOffset + lastOffsetDelta`.
    public var lastOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) }
    /// The offset after this batch.
    public var nextOffset: Int64 { lastOffset &+ 1 }
    /// Total size of the batch in bytes.
    public var sizeInBytes: Int { buffer.readableBytes }

    /// The bytes of the (possibly compressed) records section.
    public var recordsSection: ByteBuffer {
        buffer.getSlice(at: buffer.readerIndex + Self.headerSize, length: buffer.readableBytes - Self.headerSize)!
    }

    // MARK: Checksums and validation

    /// The CRC-32C of the bytes from `attributes` to the end, computed now.
    public func computeCRC() -> UInt32 {
        return buffer.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[Offset.attributes...]))
        }
    }

    /// Whether the stored CRC matches the bytes.
    public var isCRCValid: Bool { computeCRC() == crc }

    /// Checks what a broker checks before accepting a produced batch, without decoding the records: magic 2,
    /// `batchLength` equal to the bytes present, a known compression codec, the CRC, and a record count that is
    /// non-negative, consistent with `lastOffsetDelta` and possible for the bytes (or the decompression limit).
    public func validate(
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(RecordBatchError) {
        guard magic == Self.currentMagic else {
            throw RecordBatchError(.unsupportedMagic, "record batch magic is \(magic), only 2 is supported")
        }
        let declared = Int(batchLength) + Self.logOverhead
        guard declared == buffer.readableBytes else {
            throw RecordBatchError(
                .invalidLength,
                "batchLength \(batchLength) declares \(declared) bytes but the batch has \(buffer.readableBytes)"
            )
        }
        guard let codec = compression else {
            throw RecordBatchError(.unsupportedCompression, "unknown compression type \(attributes & 0x07)")
        }
        let stored = crc
        let computed = computeCRC()
        guard stored == computed else {
            throw RecordBatchError(
                .crcMismatch,
                "stored CRC 0x\(String(stored, radix: 16)) != computed 0x\(String(computed, radix: 16))"
            )
        }
        try validateRecordCount(codec: codec, maxDecompressedBytes: maxDecompressedBytes)
    }

    private func validateRecordCount(codec: CompressionCodec, maxDecompressedBytes: Int) throws(RecordBatchError) {
        let count = Int(recordCount)
        guard count >= 0 else {
            throw RecordBatchError(.invalidRecordCount, "negative record count \(count)")
        }
        guard count == 0 || Int(lastOffsetDelta) >= count - 1 else {
            throw RecordBatchError(
                .invalidRecordCount,
                "\(count) records cannot fit in lastOffsetDelta \(lastOffsetDelta)"
            )
        }
        let availableBytes = codec == .none ? buffer.readableBytes - Self.headerSize : maxDecompressedBytes
        guard count <= availableBytes / Self.minimumRecordSize else {
            throw RecordBatchError(
                .invalidRecordCount,
                "record count \(count) is impossible in \(availableBytes) bytes of records"
            )
        }
    }

    // MARK: In-place patching for the broker's hot path

    /// Sets the base offset. It lies outside the CRC, so the CRC stays valid.
    public mutating func setBaseOffset(_ offset: Int64) {
        buffer.setInteger(offset, at: buffer.readerIndex + Offset.baseOffset)
    }

    /// Sets the partition leader epoch. It lies outside the CRC, so the CRC stays valid.
    public mutating func setPartitionLeaderEpoch(_ epoch: Int32) {
        buffer.setInteger(epoch, at: buffer.readerIndex + Offset.partitionLeaderEpoch)
    }

    /// Sets `maxTimestamp` and recomputes the CRC.
    public mutating func setMaxTimestamp(_ timestamp: Int64) {
        buffer.setInteger(timestamp, at: buffer.readerIndex + Offset.maxTimestamp)
        updateCRC()
    }

    /// Stamps the batch as `LogAppendTime` at `timestamp`: sets the timestamp-type bit and `maxTimestamp`, then
    /// recomputes the CRC. Records then read `timestamp` as their timestamp, as in Kafka.
    public mutating func stampLogAppendTime(_ timestamp: Int64) {
        buffer.setInteger(attributes | AttributeBit.timestampType, at: buffer.readerIndex + Offset.attributes)
        buffer.setInteger(timestamp, at: buffer.readerIndex + Offset.maxTimestamp)
        updateCRC()
    }

    /// Sets the last offset delta (the cleaner keeps it when it drops records) and recomputes the CRC.
    public mutating func setLastOffsetDelta(_ delta: Int32) {
        buffer.setInteger(delta, at: buffer.readerIndex + Offset.lastOffsetDelta)
        updateCRC()
    }

    /// Sets both timestamps and recomputes the CRC.
    public mutating func setTimestamps(base: Int64, max: Int64) {
        buffer.setInteger(base, at: buffer.readerIndex + Offset.baseTimestamp)
        buffer.setInteger(max, at: buffer.readerIndex + Offset.maxTimestamp)
        updateCRC()
    }

    /// Recomputes and stores the CRC after fields inside it were changed.
    public mutating func updateCRC() {
        buffer.setInteger(computeCRC(), at: buffer.readerIndex + Offset.crc)
    }
}
