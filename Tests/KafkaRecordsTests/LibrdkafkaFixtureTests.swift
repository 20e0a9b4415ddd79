import Foundation
import KafkaRecords
import NIOCore
import Testing

/// Batches produced by a real client (librdkafka via confluent-kafka): the raw `records` field of a Produce request,
/// one file per codec, with a JSON sidecar listing the records the client was asked to send.
@Suite struct LibrdkafkaFixtureTests {
    struct Sidecar: Decodable {
        struct Entry: Decodable {
            var key: String?
            var value: String?
            var headers: [[String?]]?
        }

        var records: [Entry]
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func decodesLibrdkafkaBatches(codec: String) throws {
        let name = "librdkafka-\(codec)"
        guard
            let binURL = Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Fixtures"),
            let jsonURL = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures")
        else {
            Issue.record(
                "missing fixture Fixtures/\(name).bin or .json: capture it from librdkafka (see Fixtures/README.md)"
            )
            return
        }
        let expected = try JSONDecoder().decode(Sidecar.self, from: Data(contentsOf: jsonURL)).records
        let blob = ByteBuffer(bytes: try Data(contentsOf: binURL))

        let batches = try RecordBatchSequence(blob, mode: .produce).batches()
        #expect(!batches.isEmpty)
        for batch in batches {
            #expect(batch.compression == CompressionCodec.allCases.first { "\($0)" == codec })
        }
        let records = try batches.flatMap { try $0.records() }
        #expect(records.count == expected.count)
        for (record, entry) in zip(records, expected) {
            #expect(record.key.map { String(buffer: $0) } == entry.key)
            #expect(record.value.map { String(buffer: $0) } == entry.value)
            let headers = record.headers.map { [$0.key, $0.value.map { String(buffer: $0) }] }
            #expect(headers == (entry.headers ?? []))
        }

        // Patching as the broker does keeps every batch valid.
        for var batch in batches {
            batch.setBaseOffset(1 << 40)
            batch.setPartitionLeaderEpoch(3)
            try batch.validate()
            batch.stampLogAppendTime(1_234)
            try batch.validate()
        }
    }
}
