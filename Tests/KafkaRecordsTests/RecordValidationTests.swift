import KafkaRecords
import NIOCore
import Testing

/// What the broker refuses before a batch reaches the log: a header that disagrees with the records.
@Suite struct RecordValidationTests {
    private func batch(_ count: Int, compression: CompressionCodec = .none, nullKeyAt: Int? = nil) throws -> RecordBatch
    {
        var options = RecordBatchBuilder.Options()
        options.compression = compression
        var builder = RecordBatchBuilder(options: options)
        for index in 0..<count {
            builder.append(
                timestamp: 10, key: index == nullKeyAt ? nil : ByteBuffer(string: "k\(index)"),
                value: ByteBuffer(string: "v\(index)"),
                headers: [RecordHeader(key: "h", value: ByteBuffer(string: "x"))]
            )
        }
        return try builder.build()
    }

    @Test(arguments: CompressionCodec.allCases)
    func wellFormedBatchesPassAndNullKeysAreReported(codec: CompressionCodec) throws {
        #expect(try batch(5, compression: codec).validateRecords().isEmpty)
        #expect(try batch(5, compression: codec, nullKeyAt: 3).validateRecords(collectNullKeys: true) == [3])
    }

    @Test func countAndOffsetDeltaMustMatchTheRecords() throws {
        for (count, delta) in [(Int32(1), Int32(2)), (2, 5), (0, 2), (4, 3)] {
            var tampered = try batch(3)
            var buffer = tampered.buffer
            buffer.setInteger(count, at: buffer.readerIndex + 57)  // recordCount
            buffer.setInteger(delta, at: buffer.readerIndex + 23)  // lastOffsetDelta
            tampered = try RecordBatch(buffer: buffer)
            #expect(throws: RecordBatchError.self, "count \(count), lastOffsetDelta \(delta)") {
                try tampered.validateRecords()
            }
        }
    }

    @Test func aRecordLengthThatLiesIsRefused() throws {
        var buffer = try batch(2).buffer
        // The first record's length varint (right after the 61-byte header) claims 10,000 bytes.
        buffer.setBytes([0xA0, 0x9C, 0x01], at: buffer.readerIndex + 61)
        let tampered = try RecordBatch(buffer: buffer)
        #expect(throws: RecordBatchError.self) { try tampered.validateRecords() }
    }
}
