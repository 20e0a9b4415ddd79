import NIOCore

extension RecordBatch {
    /// Walks every record of the batch without building it, checking what Kafka's `LogValidator` checks before it
    /// accepts a produced batch: at least one record; exactly `recordCount` records filling the records section
    /// (after decompression) with nothing left over; offset deltas 0, 1, 2, ... ending at `lastOffsetDelta`; every
    /// length inside a record within that record; header keys present. Throws `invalidRecord` (INVALID_RECORD) or
    /// a decompression error (CORRUPT_MESSAGE).
    ///
    /// Uncompressed batches are walked in place; compressed ones are decompressed (as Kafka does) but their
    /// records are still not copied. Returns, when `collectNullKeys` is set, the indexes of records without a key.
    @discardableResult
    public func validateRecords(
        collectNullKeys: Bool = false, maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(RecordBatchError) -> [Int] {
        guard let codec = compression else {
            throw RecordBatchError(.unsupportedCompression, "unknown compression type \(attributes & 0x07)")
        }
        let count = Int(recordCount)
        guard count > 0 else { throw RecordBatchError(.invalidRecordCount, "a produced batch must hold at least one record") }
        guard Int(lastOffsetDelta) == count - 1 else {
            throw RecordBatchError(.invalidRecordCount, "lastOffsetDelta \(lastOffsetDelta) does not match \(count) records")
        }
        var section = try codec.decompress(recordsSection, maxDecompressedBytes: maxDecompressedBytes)
        var nullKeys = [Int]()
        for index in 0..<count {
            let length = Int(try section.readVarint32())
            guard length > 0, length <= section.readableBytes, var record = section.readSlice(length: length) else {
                throw RecordBatchError(.invalidRecord, "record \(index) declares \(length) bytes, \(section.readableBytes) remain")
            }
            guard record.readInteger(as: Int8.self) != nil else { throw RecordBatchError(.invalidRecord, "record \(index) is empty") }
            _ = try record.readVarint64()  // timestamp delta
            let offsetDelta = try record.readVarint32()
            guard Int(offsetDelta) == index else {
                throw RecordBatchError(.invalidRecord, "record \(index) has offset delta \(offsetDelta); they must be consecutive from 0")
            }
            let keyLength = Int(try record.readVarint32())
            if keyLength < 0, collectNullKeys { nullKeys.append(index) }
            try Self.skip(&record, length: keyLength, nullable: true, what: "key of record \(index)")
            try Self.skip(&record, length: Int(try record.readVarint32()), nullable: true, what: "value of record \(index)")
            let headerCount = Int(try record.readVarint32())
            guard headerCount >= 0, headerCount <= record.readableBytes else {
                throw RecordBatchError(.invalidRecord, "record \(index) declares \(headerCount) headers")
            }
            for _ in 0..<headerCount {
                try Self.skip(&record, length: Int(try record.readVarint32()), nullable: false, what: "header key of record \(index)")
                try Self.skip(&record, length: Int(try record.readVarint32()), nullable: true, what: "header value of record \(index)")
            }
            guard record.readableBytes == 0 else {
                throw RecordBatchError(.invalidRecord, "record \(index) has \(record.readableBytes) bytes after its last field")
            }
        }
        guard section.readableBytes == 0 else {
            throw RecordBatchError(.invalidRecord, "\(section.readableBytes) bytes follow the last of \(count) records")
        }
        return nullKeys
    }

    private static func skip(_ record: inout ByteBuffer, length: Int, nullable: Bool, what: String) throws(RecordBatchError) {
        if length == -1, nullable { return }
        guard length >= 0, length <= record.readableBytes else {
            throw RecordBatchError(.invalidRecord, "\(what) declares \(length) bytes, \(record.readableBytes) remain")
        }
        record.moveReaderIndex(forwardBy: length)
    }
}
