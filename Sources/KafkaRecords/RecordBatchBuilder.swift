import NIOCore

/// Builds one v2 record batch: encodes records as they are appended, then writes the header, compresses the records
/// section if asked, and computes `lastOffsetDelta`, `maxTimestamp` and the CRC.
///
/// `baseTimestamp` is the first record's timestamp (as the Java client does); offset deltas default to 0, 1, 2, ...
/// An empty batch gets `lastOffsetDelta` 0 and timestamps -1.
public struct RecordBatchBuilder: Sendable {
    /// Header fields of the batch to build.
    public struct Options: Sendable {
        /// First offset of the batch. Producers send 0; the broker assigns the real offset.
        public var baseOffset: Int64 = 0
        /// Leader epoch; producers send -1.
        public var partitionLeaderEpoch: Int32 = -1
        /// Idempotent producer id, or -1.
        public var producerID: Int64 = -1
        /// Producer epoch, or -1.
        public var producerEpoch: Int16 = -1
        /// Sequence number of the first record, or -1.
        public var baseSequence: Int32 = -1
        /// Whether the batch is part of a transaction.
        public var isTransactional = false
        /// Whether the batch holds control records.
        public var isControl = false
        /// Timestamp type bit. For `.logAppendTime`, `maxTimestamp` is still computed from the records unless
        /// `RecordBatch.stampLogAppendTime(_:)` is applied afterwards.
        public var timestampType: TimestampType = .createTime
        /// Compression of the records section.
        public var compression: CompressionCodec = .none

        /// Options with Kafka's producer defaults (no idempotence, no compression).
        public init() {}
    }

    /// The header fields used by `build()`.
    public var options: Options
    /// `RecordBatch.headerSize` placeholder bytes, then the encoded records: an uncompressed batch is finished
    /// in place (`finish()`), without copying the records.
    private var records: ByteBuffer
    private var count: Int32 = 0
    private var lastOffsetDelta: Int32 = -1
    private var baseTimestamp: Int64 = -1
    private var maxTimestamp: Int64 = -1

    /// Number of records appended so far.
    public var recordCount: Int { Int(count) }

    /// Creates an empty builder.
    public init(options: Options = Options()) {
        self.options = options
        self.records = ByteBufferAllocator().buffer(capacity: 256)
        self.records.writeRepeatingByte(0, count: RecordBatch.headerSize)
    }

    /// The encoded records, after the header placeholder.
    private var recordsSection: ByteBuffer {
        records.getSlice(
            at: records.readerIndex + RecordBatch.headerSize, length: records.readableBytes - RecordBatch.headerSize
        )!
    }

    /// Appends a record. `offsetDelta` defaults to one more than the previous record's; it must increase.
    public mutating func append(
        timestamp: Int64,
        key: ByteBuffer?,
        value: ByteBuffer?,
        headers: [RecordHeader] = [],
        offsetDelta: Int32? = nil
    ) {
        let delta = offsetDelta ?? lastOffsetDelta + 1
        precondition(delta > lastOffsetDelta, "offset deltas must increase: \(delta) after \(lastOffsetDelta)")
        if count == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else {
            maxTimestamp = max(maxTimestamp, timestamp)
        }
        let timestampDelta = timestamp &- baseTimestamp
        var bodySize = 1 + ByteBuffer.varint64Size(timestampDelta) + ByteBuffer.varint32Size(delta)
        bodySize += Self.nullableBytesSize(key) + Self.nullableBytesSize(value)
        bodySize += ByteBuffer.varint32Size(Int32(headers.count))
        for header in headers {
            let keySize = header.key.utf8.count
            bodySize += ByteBuffer.varint32Size(Int32(keySize)) + keySize + Self.nullableBytesSize(header.value)
        }
        // Length, attributes, timestamp delta, offset delta and key length in one write (at most 26 bytes).
        let keyLength = key.map { Int32($0.readableBytes) } ?? -1
        records.writeWithUnsafeMutableBytes(minimumWritableBytes: 26) { bytes in
            var at = ByteBuffer.putUnsignedVarint(ByteBuffer.zigzag32(Int32(bodySize)), into: bytes, at: 0)
            bytes[at] = 0  // attributes
            at += 1
            at += ByteBuffer.putUnsignedVarint(ByteBuffer.zigzag64(timestampDelta), into: bytes, at: at)
            at += ByteBuffer.putUnsignedVarint(ByteBuffer.zigzag32(delta), into: bytes, at: at)
            at += ByteBuffer.putUnsignedVarint(ByteBuffer.zigzag32(keyLength), into: bytes, at: at)
            return at
        }
        if let key { records.writeImmutableBuffer(key) }
        Self.writeNullableBytes(value, to: &records)
        records.writeVarint32(Int32(headers.count))
        for header in headers {
            records.writeVarint32(Int32(header.key.utf8.count))
            records.writeString(header.key)
            Self.writeNullableBytes(header.value, to: &records)
        }
        lastOffsetDelta = delta
        count += 1
    }

    /// Appends `record`, using its timestamp, key, value and headers; its offset becomes the delta from
    /// `options.baseOffset`.
    public mutating func append(_ record: Record) {
        let delta = record.offset &- options.baseOffset
        precondition(delta >= 0 && delta <= Int64(Int32.max), "record offset \(record.offset) outside the batch")
        append(
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers,
            offsetDelta: Int32(delta)
        )
    }

    /// Writes the finished batch to `buffer`.
    public func build(into buffer: inout ByteBuffer) throws(RecordBatchError) {
        let section = try options.compression.compress(recordsSection)
        let start = buffer.writerIndex
        buffer.reserveCapacity(minimumWritableBytes: RecordBatch.headerSize + section.readableBytes)
        buffer.writeRepeatingByte(0, count: RecordBatch.headerSize)
        buffer.writeImmutableBuffer(section)
        try Self.finishHeader(of: &buffer, at: start, fields: headerFields)
    }

    /// The finished batch as bytes. Uncompressed, the header is written into the placeholder in front of the
    /// records and the result shares their storage (no copy); compressed, it is a new buffer. Append nothing after.
    public mutating func finish() throws(RecordBatchError) -> ByteBuffer {
        guard options.compression == .none else {
            var buffer = ByteBufferAllocator().buffer(capacity: RecordBatch.headerSize + records.readableBytes)
            try build(into: &buffer)
            return buffer
        }
        // `headerFields` is read before `records` is borrowed: a method of `self` called with `&records` would
        // make a copy of `self`, and writing the header would then copy the records.
        let fields = headerFields
        let start = records.readerIndex
        try Self.finishHeader(of: &records, at: start, fields: fields)
        return records
    }

    /// The header fields other than the length and the CRC.
    private struct HeaderFields {
        var options: Options
        var attributes: Int16
        var lastOffsetDelta: Int32
        var baseTimestamp: Int64
        var maxTimestamp: Int64
        var count: Int32
    }

    private var headerFields: HeaderFields {
        HeaderFields(
            options: options, attributes: attributes, lastOffsetDelta: count == 0 ? 0 : lastOffsetDelta,
            baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp, count: count
        )
    }

    /// Writes the header fields and the CRC over the batch that starts at `start` and ends at the writer index.
    private static func finishHeader(
        of buffer: inout ByteBuffer, at start: Int, fields: HeaderFields
    ) throws(RecordBatchError) {
        let options = fields.options
        let batchLength = buffer.writerIndex - start - RecordBatch.logOverhead
        guard batchLength <= Int(Int32.max) else {
            throw RecordBatchError(.invalidLength, "batch of \(batchLength) bytes is too large")
        }
        var at = start
        func set<T: FixedWidthInteger>(_ value: T) {
            at += buffer.setInteger(value, at: at)
        }
        set(options.baseOffset)
        set(Int32(batchLength))
        set(options.partitionLeaderEpoch)
        set(RecordBatch.currentMagic)
        set(UInt32(0))  // CRC, filled in below
        set(fields.attributes)
        set(fields.lastOffsetDelta)
        set(fields.baseTimestamp)
        set(fields.maxTimestamp)
        set(options.producerID)
        set(options.producerEpoch)
        set(options.baseSequence)
        set(fields.count)
        let crcStart = start + RecordBatch.Offset.attributes
        let crc = CRC32C.checksum(buffer.getSlice(at: crcStart, length: buffer.writerIndex - crcStart)!)
        buffer.setInteger(crc, at: start + RecordBatch.Offset.crc)
    }

    /// The finished batch.
    public func build() throws(RecordBatchError) -> RecordBatch {
        var buffer = ByteBufferAllocator().buffer(capacity: RecordBatch.headerSize + records.readableBytes)
        try build(into: &buffer)
        return try RecordBatch(buffer: buffer)
    }

    private var attributes: Int16 {
        var bits = options.compression.rawValue
        if options.timestampType == .logAppendTime { bits |= RecordBatch.AttributeBit.timestampType }
        if options.isTransactional { bits |= RecordBatch.AttributeBit.transactional }
        if options.isControl { bits |= RecordBatch.AttributeBit.control }
        return bits
    }

    private static func nullableBytesSize(_ bytes: ByteBuffer?) -> Int {
        guard let bytes else { return 1 }
        return ByteBuffer.varint32Size(Int32(bytes.readableBytes)) + bytes.readableBytes
    }

    private static func writeNullableBytes(_ bytes: ByteBuffer?, to buffer: inout ByteBuffer) {
        guard let bytes else {
            buffer.writeVarint32(-1)
            return
        }
        buffer.writeVarint32(Int32(bytes.readableBytes))
        buffer.writeImmutableBuffer(bytes)
    }
}
