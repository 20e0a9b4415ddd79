import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage
@testable import fjord

/// `fjord log dump`: what `SegmentInspector` (FjordStorage) reads of a segment's files, and how
/// `LogDumpFormatter` prints it.
@Suite struct LogDumpTests {
    /// A closed log: a plain batch, a gzip batch with a header, then enough batches for index entries.
    private func makeLog() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-dump-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = LogConfiguration()
        configuration.indexIntervalBytes = 100
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("d", 0), topicID: KafkaUUID(high: 1, low: 2),
            configuration: configuration
        )
        _ = try log.append(batch(count: 3), leaderEpoch: 4)
        var options = RecordBatchBuilder.Options()
        options.compression = .gzip
        options.producerID = 77
        options.producerEpoch = 2
        options.baseSequence = 10
        var builder = RecordBatchBuilder(options: options)
        builder.append(
            Record(
                offset: 0, timestamp: 1_700_000_000_500, key: ByteBuffer(string: "key"),
                value: ByteBuffer(string: "value"),
                headers: [RecordHeader(key: "h", value: ByteBuffer(string: "hv"))]))
        _ = try log.append(try builder.build().buffer, leaderEpoch: 4)
        for index in 0..<10 { _ = try log.append(batch(count: 2, prefix: "m\(index)"), leaderEpoch: 5) }
        try log.close()
        return directory
    }

    private func batch(count: Int, prefix: String = "v") -> ByteBuffer {
        var builder = RecordBatchBuilder(options: .init())
        for index in 0..<count {
            builder.append(
                timestamp: 1_700_000_000_000 + Int64(index), key: ByteBuffer(string: "k\(index)"),
                value: ByteBuffer(string: "\(prefix)-\(index)")
            )
        }
        return try! builder.build().buffer
    }

    private func dump(
        _ path: String, verify: Bool = false, format: LogDumpFormatter.Format = .text, records: Bool = false
    ) throws
        -> (output: String, problems: [String])
    {
        var formatter = LogDumpFormatter(format: format, printRecords: records)
        return formatter.report(path: path, try SegmentInspector.inspect(path: path, verifyIndex: verify))
    }

    /// Flow: 1. dump the .log as text with records; 2. every batch line carries Kafka's fields and the records
    /// follow it; 3. no problems.
    @Test func textDumpOfALog() throws {
        let directory = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = try dump(directory + "/" + LogSegment.fileName(0, ".log"), records: true)
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
        #expect(LogDumpFormatter.display(ByteBuffer(bytes: [0x00, 0xFF, 0x10])) == "0x00ff10")
    }

    /// Flow: 1. dump as JSON; 2. it parses, with one entry per batch and the records inside.
    @Test func jsonDumpParses() throws {
        let directory = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = try dump(directory + "/" + LogSegment.fileName(0, ".log"), format: .json, records: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.output.utf8)) as? [String: Any])
        let entries = try #require(object["entries"] as? [[String: Any]])
        #expect(entries.count == 12)
        #expect(entries[1]["compression"] as? String == "gzip")
        #expect(entries[1]["crcValid"] as? Bool == true)
        let records = try #require(entries[0]["records"] as? [[String: Any]])
        #expect(records.map { $0["value"] as? String } == ["v-0", "v-1", "v-2"])
        #expect((object["problems"] as? [Any])?.isEmpty == true)
    }

    /// Flow: 1. inspect and verify both indexes of a clean segment: entries listed, no problems; 2. point an index
    /// entry at the wrong position and flip a CRC byte: each is reported, by the inspector and in the dump.
    @Test func verifyIndexCatchesEntriesThatPointElsewhere() throws {
        let directory = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let indexPath = directory + "/" + LogSegment.fileName(0, ".index")
        let clean = try SegmentInspector.inspect(path: indexPath, verifyIndex: true)
        guard case .offsetIndex(let entries) = clean.contents else {
            Issue.record("not an offset index")
            return
        }
        #expect(!entries.isEmpty && clean.allProblems.isEmpty)
        #expect(try dump(indexPath, verify: true).output.contains("offset: "))
        #expect(
            try SegmentInspector.inspect(
                path: directory + "/" + LogSegment.fileName(0, ".timeindex"), verifyIndex: true
            ).allProblems.isEmpty)

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexPath)))
        #expect(bytes.count >= 16)
        bytes[7] &+= 1  // the first entry's position now points inside a batch
        try Data(bytes).write(to: URL(fileURLWithPath: indexPath))
        let broken = try SegmentInspector.inspect(path: indexPath, verifyIndex: true)
        #expect(broken.allProblems.count == 1)
        #expect(broken.allProblems.first?.contains("no batch starts at that position") == true)
        #expect(try dump(indexPath, verify: true).output.contains("PROBLEM: index entry"))

        let logPath = directory + "/" + LogSegment.fileName(0, ".log")
        var log = [UInt8](try Data(contentsOf: URL(fileURLWithPath: logPath)))
        log[70] ^= 0x01
        log += [1, 2, 3]
        try Data(log).write(to: URL(fileURLWithPath: logPath))
        let corrupt = try SegmentInspector.inspect(path: logPath, verifyIndex: false).allProblems
        #expect(corrupt.contains { $0.contains("CRC mismatch") })
        #expect(corrupt.contains { $0.contains("3 bytes after the last complete batch") })
        #expect(try dump(logPath).problems == corrupt)
    }
}
