import NIOCore

/// Decoding the records of a batch on demand.
///
/// Every length read from the bytes is checked against the bytes that remain before anything is sliced or
/// allocated, so hostile input throws a `RecordBatchError` and never traps.
extension RecordBatch {
    /// Decodes all records, decompressing the records section first if needed.
    ///
    /// Checks that exactly `recordCount` records fill the records section, that each record's declared length matches
    /// its fields, and that decompression stays within `maxDecompressedBytes`. Does not check the CRC: call
    /// `validate()` for that.
    public func records(
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(RecordBatchError) -> [Record] {
        guard let codec = compression else {
            throw RecordBatchError(.unsupportedCompression, "unknown compression type \(attributes & 0x07)")
        }
        let count = Int(recordCount)
        guard count >= 0 else {
            throw RecordBatchError(.invalidRecordCount, "negative record count \(count)")
        }
        var section = try codec.decompress(recordsSection, maxDecompressedBytes: maxDecompressedBytes)
        guard count <= section.readableBytes / Self.minimumRecordSize else {
            throw RecordBatchError(
                .invalidRecordCount,
                "record count \(count) is impossible in \(section.readableBytes) bytes of records"
            )
        }
        let context = DecodingContext(
            baseOffset: baseOffset,
            baseTimestamp: baseTimestamp,
            logAppendTime: timestampType == .logAppendTime ? maxTimestamp : nil
        )
        var result: [Record] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            do throws(RecordBatchError) {
                result.append(try Self.readRecord(from: &section, context: context))
            } catch {
                throw RecordBatchError(error.code, "record \(index) of \(count): \(error.message)")
            }
        }
        guard section.readableBytes == 0 else {
            throw RecordBatchError(
                .invalidRecordCount,
                "\(section.readableBytes) bytes remain after the \(count) declared records"
            )
        }
        return result
    }

    struct DecodingContext {
        var baseOffset: Int64
        var baseTimestamp: Int64
        var logAppendTime: Int64?
    }

    static func readRecord(
        from section: inout ByteBuffer,
        context: DecodingContext
    ) throws(RecordBatchError) -> Record {
        let length = try section.readVarint32()
        guard length >= 0, var body = section.readSlice(length: Int(length)) else {
            throw RecordBatchError(
                .invalidRecord,
                "record length \(length) but \(section.readableBytes) bytes remain"
            )
        }
        guard body.readInteger(as: Int8.self) != nil else {
            throw RecordBatchError(.truncated, "record has no attributes byte")
        }
        let timestampDelta = try body.readVarint64()
        let offsetDelta = try body.readVarint32()
        let key = try readNullableBytes(from: &body, what: "key")
        let value = try readNullableBytes(from: &body, what: "value")
        let headerCount = try body.readVarint32()
        // Each header takes at least two bytes (key length and value length).
        guard headerCount >= 0, Int(headerCount) <= body.readableBytes / 2 else {
            throw RecordBatchError(
                .invalidRecord,
                "header count \(headerCount) is impossible in \(body.readableBytes) bytes"
            )
        }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<Int(headerCount) {
            guard let keyBytes = try readNullableBytes(from: &body, what: "header key") else {
                throw RecordBatchError(.invalidRecord, "header key is null")
            }
            let headerValue = try readNullableBytes(from: &body, what: "header value")
            headers.append(RecordHeader(key: String(buffer: keyBytes), value: headerValue))
        }
        guard body.readableBytes == 0 else {
            throw RecordBatchError(
                .invalidRecord,
                "record declares \(length) bytes but its fields end \(body.readableBytes) bytes early"
            )
        }
        return Record(
            offset: context.baseOffset &+ Int64(offsetDelta),
            timestamp: context.logAppendTime ?? context.baseTimestamp &+ timestampDelta,
            key: key,
            value: value,
            headers: headers
        )
    }

    /// Reads a varint length (-1 = null) and that many bytes, bounded by what remains.
    private static func readNullableBytes(
        from body: inout ByteBuffer,
        what: String
    ) throws(RecordBatchError) -> ByteBuffer? {
        let length = try body.readVarint32()
        if length == -1 { return nil }
        guard length >= 0, let bytes = body.readSlice(length: Int(length)) else {
            throw RecordBatchError(
                .invalidRecord,
                "\(what) length \(length) but \(body.readableBytes) bytes remain"
            )
        }
        return bytes
    }
}
