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
    ///
    /// This runs for every produced batch, so the walk reads the section through one unsafe view (`RecordWalker`)
    /// rather than `ByteBuffer` calls per field: bounds are still checked, once per read, against the view.
    @discardableResult
    public func validateRecords(
        collectNullKeys: Bool = false, maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(RecordBatchError) -> [Int] {
        guard let codec = compression else {
            throw RecordBatchError(.unsupportedCompression, "unknown compression type \(attributes & 0x07)")
        }
        let count = Int(recordCount)
        guard count > 0 else {
            throw RecordBatchError(.invalidRecordCount, "a produced batch must hold at least one record")
        }
        guard Int(lastOffsetDelta) == count - 1 else {
            throw RecordBatchError(
                .invalidRecordCount, "lastOffsetDelta \(lastOffsetDelta) does not match \(count) records")
        }
        let section = try codec.decompress(recordsSection, maxDecompressedBytes: maxDecompressedBytes)
        let outcome = section.withUnsafeReadableBytes { bytes in
            var walker = RecordWalker(bytes: bytes)
            return walker.walk(count: count, collectNullKeys: collectNullKeys)
        }
        switch outcome {
        case .success(let nullKeys): return nullKeys
        case .failure(let error): throw error
        }
    }
}

/// A cursor over the raw bytes of a records section (STYLE.md: no allocation, every read bounds-checked).
private struct RecordWalker {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func walk(count: Int, collectNullKeys: Bool) -> Result<[Int], RecordBatchError> {
        var nullKeys = [Int]()
        for index in 0..<count {
            do throws(RecordBatchError) {
                try record(index, collectNullKeys: collectNullKeys, nullKeys: &nullKeys)
            } catch {
                return .failure(error)
            }
        }
        guard position == bytes.count else {
            return .failure(
                RecordBatchError(.invalidRecord, "\(bytes.count - position) bytes follow the last of \(count) records"))
        }
        return .success(nullKeys)
    }

    private mutating func record(_ index: Int, collectNullKeys: Bool, nullKeys: inout [Int]) throws(RecordBatchError) {
        let length = Int(try varint32(index))
        let remaining = bytes.count - position
        guard length > 0, length <= remaining else {
            throw RecordBatchError(.invalidRecord, "record \(index) declares \(length) bytes, \(remaining) remain")
        }
        let end = position + length
        // Within the record, reads are bounded by its end, not the section's.
        var inner = RecordWalker(bytes: UnsafeRawBufferPointer(rebasing: bytes[position..<end]))
        position = end
        inner.position = 1  // attributes (one byte)
        _ = try inner.varint64(index)  // timestamp delta
        let offsetDelta = try inner.varint32(index)
        guard Int(offsetDelta) == index else {
            throw RecordBatchError(
                .invalidRecord, "record \(index) has offset delta \(offsetDelta); they must be consecutive from 0")
        }
        let keyLength = Int(try inner.varint32(index))
        if keyLength < 0, collectNullKeys { nullKeys.append(index) }
        try inner.skip(keyLength, nullable: true, index: index, what: "key")
        try inner.skip(Int(try inner.varint32(index)), nullable: true, index: index, what: "value")
        let headerCount = Int(try inner.varint32(index))
        guard headerCount >= 0, headerCount <= inner.bytes.count - inner.position else {
            throw RecordBatchError(.invalidRecord, "record \(index) declares \(headerCount) headers")
        }
        for _ in 0..<headerCount {
            try inner.skip(Int(try inner.varint32(index)), nullable: false, index: index, what: "header key")
            try inner.skip(Int(try inner.varint32(index)), nullable: true, index: index, what: "header value")
        }
        guard inner.position == inner.bytes.count else {
            throw RecordBatchError(
                .invalidRecord, "record \(index) has \(inner.bytes.count - inner.position) bytes after its last field")
        }
    }

    private mutating func skip(_ length: Int, nullable: Bool, index: Int, what: StaticString) throws(RecordBatchError) {
        if length == -1, nullable { return }
        let remaining = bytes.count - position
        guard length >= 0, length <= remaining else {
            throw RecordBatchError(
                .invalidRecord, "\(what) of record \(index) declares \(length) bytes, \(remaining) remain")
        }
        position += length
    }

    mutating func varint32(_ index: Int) throws(RecordBatchError) -> Int32 {
        let raw = try unsignedVarint(maxBytes: 5, lastByteMax: 0x0F, index: index)
        let value = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    mutating func varint64(_ index: Int) throws(RecordBatchError) -> Int64 {
        let value = try unsignedVarint(maxBytes: 10, lastByteMax: 0x01, index: index)
        return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// The same rules as `ByteBuffer.readVarint32/64`: at most `maxBytes` bytes, the last one at most `lastByteMax`.
    private mutating func unsignedVarint(maxBytes: Int, lastByteMax: UInt8, index: Int) throws(RecordBatchError)
        -> UInt64
    {
        var result: UInt64 = 0
        for shift in 0..<maxBytes {
            guard position < bytes.count else {
                throw RecordBatchError(.truncated, "record \(index): varint runs past the end of the data")
            }
            let byte = bytes[position]
            position += 1
            if shift == maxBytes - 1 && byte > lastByteMax {
                throw RecordBatchError(
                    .invalidVarint, "record \(index): varint is longer than \(maxBytes) bytes or overflows")
            }
            result |= UInt64(byte & 0x7F) << UInt64(7 * shift)
            if byte & 0x80 == 0 { return result }
        }
        throw RecordBatchError(.invalidVarint, "record \(index): varint is longer than \(maxBytes) bytes")
    }
}
