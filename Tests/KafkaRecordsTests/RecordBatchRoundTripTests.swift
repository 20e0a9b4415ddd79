import FjordTestSupport
import NIOCore
import Testing

@testable import KafkaRecords

/// Helpers shared by the batch tests.
enum Sample {
    static func records(count: Int, seed: UInt64 = 7) -> [Record] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            let key: ByteBuffer? = index % 5 == 3 ? nil : ByteBuffer(string: "key-\(index)")
            let value: ByteBuffer? =
                index % 7 == 4
                ? nil
                : ByteBuffer(
                    bytes: (0..<Int.random(in: 0...300, using: &generator)).map {
                        UInt8(truncatingIfNeeded: $0 &* index)
                    }
                )
            var headers: [RecordHeader] = []
            for headerIndex in 0..<(index % 3) {
                headers.append(RecordHeader(key: "h\(headerIndex)-ü", value: headerIndex == 1 ? nil : "v\(index)"))
            }
            return Record(
                offset: 1000 + Int64(index),
                timestamp: 1_700_000_000_000 + Int64(index * 37 % 11) - 5,
                key: key,
                value: value,
                headers: headers
            )
        }
    }

    static func batch(
        _ records: [Record],
        compression: CompressionCodec = .none,
        configure: (inout RecordBatchBuilder.Options) -> Void = { _ in }
    ) throws -> RecordBatch {
        var options = RecordBatchBuilder.Options()
        options.baseOffset = 1000
        options.compression = compression
        configure(&options)
        var builder = RecordBatchBuilder(options: options)
        for record in records {
            builder.append(record)
        }
        return try builder.build()
    }
}

@Suite struct RecordBatchRoundTripTests {
    @Test(arguments: CompressionCodec.allCases)
    func builderToViewRoundTrip(compression: CompressionCodec) throws {
        let records = Sample.records(count: 50)
        let batch = try Sample.batch(records, compression: compression)
        try batch.validate()
        #expect(batch.compression == compression)
        #expect(batch.magic == 2)
        #expect(batch.baseOffset == 1000)
        #expect(batch.recordCount == 50)
        #expect(batch.lastOffsetDelta == 49)
        #expect(batch.lastOffset == 1049)
        #expect(batch.baseTimestamp == records[0].timestamp)
        #expect(batch.maxTimestamp == records.map(\.timestamp).max())
        #expect(batch.sizeInBytes == Int(batch.batchLength) + 12)
        #expect(try batch.records() == records)
    }

    @Test func nullKeyValueAndHeaders() throws {
        let records = [
            Record(offset: 0, timestamp: 5, key: nil, value: nil),
            Record(offset: 1, timestamp: 4, key: ByteBuffer(), value: ByteBuffer()),
            Record(
                offset: 2,
                timestamp: -1,
                key: ByteBuffer(string: "k"),
                value: nil,
                headers: [
                    RecordHeader(key: "", value: ByteBuffer()), RecordHeader(key: "n", value: nil as ByteBuffer?),
                ]
            ),
        ]
        var builder = RecordBatchBuilder()
        for record in records {
            builder.append(record)
        }
        let batch = try builder.build()
        try batch.validate()
        #expect(try batch.records() == records)
        #expect(batch.maxTimestamp == 5)
    }

    @Test(arguments: [CompressionCodec.none, .zstd])
    func manyRecords(compression: CompressionCodec) throws {
        var options = RecordBatchBuilder.Options()
        options.compression = compression
        var builder = RecordBatchBuilder(options: options)
        for index in 0..<20_000 {
            builder.append(timestamp: Int64(index), key: nil, value: ByteBuffer(string: "\(index)"))
        }
        let batch = try builder.build()
        try batch.validate()
        let decoded = try batch.records()
        #expect(decoded.count == 20_000)
        #expect(decoded.last?.offset == 19_999)
        #expect(decoded.last?.value == ByteBuffer(string: "19999"))
        #expect(batch.maxTimestamp == 19_999)
    }

    @Test func headerFieldsAndAttributes() throws {
        let batch = try Sample.batch(Sample.records(count: 3), compression: .lz4) { options in
            options.partitionLeaderEpoch = 9
            options.producerID = 4242
            options.producerEpoch = 3
            options.baseSequence = 77
            options.isTransactional = true
            options.isControl = true
            options.timestampType = .logAppendTime
        }
        try batch.validate()
        #expect(batch.partitionLeaderEpoch == 9)
        #expect(batch.producerID == 4242)
        #expect(batch.producerEpoch == 3)
        #expect(batch.baseSequence == 77)
        #expect(batch.isTransactional)
        #expect(batch.isControl)
        #expect(!batch.hasDeleteHorizon)
        #expect(batch.timestampType == .logAppendTime)
        #expect(batch.attributes == 3 | 0x08 | 0x10 | 0x20)
    }

    @Test func offsetGapsFromCompaction() throws {
        var builder = RecordBatchBuilder()
        builder.append(timestamp: 1, key: nil, value: ByteBuffer(string: "a"), offsetDelta: 0)
        builder.append(timestamp: 2, key: nil, value: ByteBuffer(string: "b"), offsetDelta: 5)
        let batch = try builder.build()
        try batch.validate()
        #expect(batch.lastOffsetDelta == 5)
        #expect(try batch.records().map(\.offset) == [0, 5])
    }

    @Test func emptyBatch() throws {
        let batch = try RecordBatchBuilder().build()
        try batch.validate()
        #expect(batch.recordCount == 0)
        #expect(try batch.records().isEmpty)
    }

    @Test func sequenceOfSeveralBatches() throws {
        var blob = ByteBuffer()
        for (index, codec) in CompressionCodec.allCases.enumerated() {
            var options = RecordBatchBuilder.Options()
            options.baseOffset = Int64(index * 10)
            options.compression = codec
            var builder = RecordBatchBuilder(options: options)
            builder.append(timestamp: 0, key: nil, value: ByteBuffer(string: "\(codec)"))
            try builder.build(into: &blob)
        }
        for mode in [RecordBatchSequence.Mode.fetch, .produce] {
            let batches = try RecordBatchSequence(blob, mode: mode).batches()
            #expect(batches.map(\.baseOffset) == [0, 10, 20, 30, 40])
            #expect(
                try batches.map { try $0.records()[0].value }
                    == CompressionCodec.allCases.map {
                        ByteBuffer(string: "\($0)")
                    })
        }
    }
}
