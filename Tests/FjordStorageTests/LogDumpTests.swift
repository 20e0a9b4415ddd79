@testable import FjordStorage
import KafkaProtocol
import Foundation
import KafkaRecords
import NIOCore
import Testing

@Suite struct LogDumpTests {
    /// A closed log: a plain batch, a gzip batch with a header, then enough batches for index entries.
    private func makeLog() throws -> String {
        let directory = StorageFixtures.temporaryDirectory()
        var configuration = LogConfiguration()
        configuration.indexIntervalBytes = 100
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("d", 0), topicID: KafkaUUIDFixture.id, configuration: configuration
        )
        _ = try log.append(StorageFixtures.batch(count: 3), leaderEpoch: 4)
        var options = RecordBatchBuilder.Options()
        options.compression = .gzip
        options.producerID = 77
        options.producerEpoch = 2
        options.baseSequence = 10
        var builder = RecordBatchBuilder(options: options)
        builder.append(Record(offset: 0, timestamp: 1_700_000_000_500, key: ByteBuffer(string: "key"), value: ByteBuffer(string: "value"),
                              headers: [RecordHeader(key: "h", value: ByteBuffer(string: "hv"))]))
        _ = try log.append(try builder.build().buffer, leaderEpoch: 4)
        for index in 0..<10 { _ = try log.append(StorageFixtures.batch(count: 2, prefix: "m\(index)"), leaderEpoch: 5) }
        try log.close()
        return directory
    }

    /// Flow: 1. dump the .log as text with records; 2. every batch line carries Kafka's fields and the records
    /// follow it; 3. no problems.
    @Test func textDumpOfALog() throws {
        let directory = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogDump.Options()
        options.printRecords = true
        let report = try LogDump.dump(path: directory + "/" + LogSegment.fileName(0, ".log"), options: options)
        #expect(report.problems.isEmpty)
        let lines = report.output.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("Dumping "))
        #expect(lines[1].hasPrefix("baseOffset: 0 lastOffset: 2 count: 3 position: 0 size: "))
        #expect(lines[1].contains("crcValid: true compression: none timestampType: CreateTime"))
        #expect(lines[1].contains("partitionLeaderEpoch: 4 isTransactional: false isControl: false"))
        #expect(lines[2] == "| offset: 0 timestamp: 1700000000000 key: k0 value: v-0 headers: {}")
        let gzip = try #require(lines.first { $0.hasPrefix("baseOffset: 3 ") })
        #expect(gzip.contains("compression: gzip") && gzip.contains("producerId: 77 producerEpoch: 2 baseSequence: 10"))
        #expect(lines.contains("| offset: 3 timestamp: 1700000000500 key: key value: value headers: {\"h\":\"hv\"}"))
        #expect(lines.contains("batches: 12") && lines.contains("trailingBytes: 0"))
        #expect(LogDump.display(ByteBuffer(bytes: [0x00, 0xFF, 0x10])) == "0x00ff10")
    }

    /// Flow: 1. dump as JSON; 2. it parses, with one entry per batch and the records inside.
    @Test func jsonDumpParses() throws {
        let directory = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogDump.Options()
        options.printRecords = true
        options.format = .json
        let report = try LogDump.dump(path: directory + "/" + LogSegment.fileName(0, ".log"), options: options)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.output.utf8)) as? [String: Any])
        let entries = try #require(object["entries"] as? [[String: Any]])
        #expect(entries.count == 12)
        #expect(entries[1]["compression"] as? String == "gzip")
        #expect(entries[1]["crcValid"] as? Bool == true)
        let records = try #require(entries[0]["records"] as? [[String: Any]])
        #expect(records.map { $0["value"] as? String } == ["v-0", "v-1", "v-2"])
        #expect((object["problems"] as? [Any])?.isEmpty == true)
    }

    /// Flow: 1. dump and verify both indexes of a clean segment: entries listed, no problems; 2. point an index
    /// entry at the wrong position and flip a CRC byte: each is reported.
    @Test func verifyIndexCatchesEntriesThatPointElsewhere() throws {
        let directory = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogDump.Options()
        options.verifyIndex = true
        let indexPath = directory + "/" + LogSegment.fileName(0, ".index")
        let clean = try LogDump.dump(path: indexPath, options: options)
        #expect(clean.problems.isEmpty)
        #expect(clean.output.contains("offset: ") && clean.output.contains("position: "))
        #expect(try LogDump.dump(path: directory + "/" + LogSegment.fileName(0, ".timeindex"), options: options).problems.isEmpty)

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexPath)))
        #expect(bytes.count >= 16)
        bytes[7] &+= 1  // the first entry's position now points inside a batch
        try Data(bytes).write(to: URL(fileURLWithPath: indexPath))
        let broken = try LogDump.dump(path: indexPath, options: options)
        #expect(broken.problems.count == 1)
        #expect(broken.problems.first?.contains("no batch starts at that position") == true)

        let logPath = directory + "/" + LogSegment.fileName(0, ".log")
        var log = [UInt8](try Data(contentsOf: URL(fileURLWithPath: logPath)))
        log[70] ^= 0x01
        log += [1, 2, 3]
        try Data(log).write(to: URL(fileURLWithPath: logPath))
        let corrupt = try LogDump.dump(path: logPath)
        #expect(corrupt.problems.contains { $0.contains("CRC mismatch") })
        #expect(corrupt.problems.contains { $0.contains("3 bytes after the last complete batch") })
    }
}
