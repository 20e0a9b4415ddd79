import FjordController
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage
@testable import fjord

/// `fjord metadata dump`: a snapshot and a metadata log segment printed as records.
///
/// Flow:
/// 1. Write a snapshot (header with the KRaft version and voters, one TopicRecord, footer) with RaftSnapshotFile
///    and a segment of two batches (a TopicRecord and a ConfigRecord) with PartitionLog, in one folder.
/// 2. Dump the folder: the snapshot first, then the segment, every record decoded; a flipped byte is a problem.
@Suite struct MetadataDumpTests {
    private let topicID = KafkaUUID(high: 1, low: 2)

    private func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-mdump-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func batch(_ records: [MetadataRecord]) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        for record in records { builder.append(timestamp: 1_700_000_000_000, key: nil, value: record.encoded()) }
        return try builder.build().buffer
    }

    private func writeMetadataLog(in directory: String) throws {
        let voters = VotersRecord(voters: [
            .init(
                voterID: 1, voterDirectoryID: KafkaUUID(high: 9, low: 9),
                endpoints: [.init(name: "CONTROLLER", host: "localhost", port: 9093)],
                kRaftVersionFeature: .init(minSupportedVersion: 0, maxSupportedVersion: 1))
        ])
        let snapshot = KRaftCheckpoint(
            lastContainedLogTimestamp: 1_700_000_000_000, kraftVersion: KRaftVersionRecord(version: 0, kRaftVersion: 1),
            voters: voters, records: [MetadataRecord.topic(TopicRecord(name: "snapshotted", topicID: topicID)).encoded()])
        _ = try RaftSnapshotFile.write(
            snapshot, id: RaftSnapshotFile.ID(endOffset: 4, epoch: 2), in: directory, timestamp: 1_700_000_000_000)
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("__cluster_metadata", 0), topicID: .zero,
            configuration: LogConfiguration())
        _ = try log.append(try batch([.topic(TopicRecord(name: "logged", topicID: topicID))]), leaderEpoch: 2)
        _ = try log.append(
            try batch([.config(ConfigRecord(resourceType: 2, resourceName: "logged", name: "retention.ms", value: "9"))]),
            leaderEpoch: 3)
        try log.close()
    }

    @Test func aFolderIsItsSnapshotsThenItsSegmentsEveryRecordDecoded() throws {
        let directory = try folder()
        try writeMetadataLog(in: directory)
        let files = try MetadataDumpCommand.files(at: directory)
        #expect(files.map { $0.split(separator: "/").last! } == [
            "00000000000000000004-0000000002.checkpoint", "00000000000000000000.log",
        ])

        let snapshot = try MetadataDumpFormatter.dump(file: files[0])
        #expect(!snapshot.hasProblems)
        let snapshotLines = snapshot.output.split(separator: "\n").map(String.init)
        #expect(snapshotLines.filter { $0.hasPrefix("baseOffset:") }.count == 3)  // header, data, footer
        #expect(snapshotLines.contains { $0.contains("SnapshotHeaderRecord(") && $0.contains("lastContainedLogTimestamp: 1700000000000") })
        #expect(snapshotLines.contains { $0.contains("VotersRecord(") && $0.contains("voterID: 1") })
        #expect(snapshotLines.contains { $0.contains("topic(TopicRecord(name: \"snapshotted\", topicID: \(topicID)") })
        #expect(snapshotLines.last?.contains("SnapshotFooterRecord(") == true)

        let segment = try MetadataDumpFormatter.dump(file: files[1])
        #expect(!segment.hasProblems)
        let segmentLines = segment.output.split(separator: "\n").map(String.init)
        #expect(segmentLines == [
            "baseOffset: 0 lastOffset: 0 count: 1 leaderEpoch: 2 isControl: false crcValid: true",
            "| offset: 0 topic(TopicRecord(name: \"logged\", topicID: \(topicID)))",
            "baseOffset: 1 lastOffset: 1 count: 1 leaderEpoch: 3 isControl: false crcValid: true",
            "| offset: 1 config(ConfigRecord(resourceType: 2, resourceName: \"logged\", name: \"retention.ms\", value: \"9\"))",
        ])
    }

    @Test func aDamagedSegmentIsAProblem() throws {
        let directory = try folder()
        try writeMetadataLog(in: directory)
        let path = directory + "/00000000000000000000.log"
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 70)
        try handle.write(contentsOf: Data([0xFF]))
        try handle.close()
        #expect(try MetadataDumpFormatter.dump(file: path).hasProblems)
    }
}
