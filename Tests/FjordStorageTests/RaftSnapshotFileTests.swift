import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

/// KIP-630 snapshot files: Kafka's names, the header/footer batch layout, CRC-checked reads, and the start-up
/// clean-up of partial files.
@Suite struct RaftSnapshotFileTests {
    private func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent(
            "fjord-snapshots-\(UUID().uuidString)/__cluster_metadata-0"
        ).path
    }

    private func voters() -> VotersRecord {
        VotersRecord(voters: [
            .init(
                voterID: 1, voterDirectoryID: KafkaUUID(high: 9, low: 9),
                endpoints: [.init(name: "CONTROLLER", host: "localhost", port: 9093)],
                kRaftVersionFeature: .init(minSupportedVersion: 0, maxSupportedVersion: 1))
        ])
    }

    @Test func namesAreKafkas() {
        let id = RaftSnapshotFile.ID(endOffset: 1234, epoch: 5)
        #expect(RaftSnapshotFile.fileName(for: id) == "00000000000000001234-0000000005.checkpoint")
        #expect(RaftSnapshotFile.fileName(for: .bootstrap) == "00000000000000000000-0000000000.checkpoint")
        #expect(RaftSnapshotFile.parse(fileName: "00000000000000001234-0000000005.checkpoint")! == (id, .complete))
        #expect(
            RaftSnapshotFile.parse(fileName: "00000000000000001234-0000000005-8812.checkpoint.part")! == (id, .partial))
        #expect(
            RaftSnapshotFile.parse(fileName: "00000000000000001234-0000000005.checkpoint.deleted")! == (id, .deleted))
        for other in [
            "00000000000000000000.log", "quorum-state", "leader-epoch-checkpoint", "bootstrap.checkpoint",
            "0000000000000000123x-0000000005.checkpoint", "00000000000000001234-0000000005-x.checkpoint",
        ] {
            #expect(RaftSnapshotFile.parse(fileName: other) == nil, "\(other)")
        }
    }

    /// Flow: 1. write a snapshot with the KRaft records and data records spanning two data batches; 2. read the
    /// batches back: header control batch first, footer control batch last, offsets without gaps, CRCs valid;
    /// 3. decode the contents and compare.
    @Test func aSnapshotRoundTripsAsKafkasBatches() throws {
        let directory = folder()
        let big = ByteBuffer(repeating: 7, count: KRaftCheckpoint.maximumBatchBytes / 2)
        let records = [ByteBuffer(string: "first"), big, big, ByteBuffer(string: "last")]
        let checkpoint = KRaftCheckpoint(
            lastContainedLogTimestamp: 1_700_000_000_123, kraftVersion: KRaftVersionRecord(version: 0, kRaftVersion: 1),
            voters: voters(), records: records)
        let id = RaftSnapshotFile.ID(endOffset: 40, epoch: 3)
        let path = try RaftSnapshotFile.write(checkpoint, id: id, in: directory, timestamp: 1_700_000_000_999)
        #expect(path == directory + "/00000000000000000040-0000000003.checkpoint")
        #expect(try RaftSnapshotFile.list(in: directory) == [id])

        let bytes = try #require(try RaftSnapshotFile.bytes(of: id, in: directory))
        let batches = try KRaftCheckpoint.batches(in: bytes, source: path)
        #expect(batches.count == 4)  // header, two data batches (8 MiB bound), footer
        #expect(batches.first!.isControl && batches.last!.isControl)
        #expect(batches.dropFirst().dropLast().allSatisfy { !$0.isControl })
        #expect(batches.allSatisfy { $0.partitionLeaderEpoch == 3 && $0.isCRCValid })
        #expect(batches.map(\.baseOffset) == [0, 3, 5, 7])
        let headerTypes = try batches[0].records().map { try ControlRecordType(parsingKey: $0.key) }
        #expect(headerTypes == [.snapshotHeader, .kraftVersion, .kraftVoters])
        #expect(try ControlRecordType(parsingKey: try batches[3].records()[0].key) == .snapshotFooter)

        #expect(try RaftSnapshotFile.read(id, in: directory) == checkpoint)
        #expect(try RaftSnapshotFile.read(.init(endOffset: 41, epoch: 3), in: directory) == nil)
    }

    @Test func partialAndDeletedFilesAreRemovedAtStartUp() throws {
        let directory = folder()
        let id = RaftSnapshotFile.ID(endOffset: 10, epoch: 1)
        try RaftSnapshotFile.write(KRaftCheckpoint(lastContainedLogTimestamp: 0), id: id, in: directory, timestamp: 0)
        for leftover in [
            "00000000000000000020-0000000001-123.checkpoint.part", "00000000000000000005-0000000001.checkpoint.deleted",
        ] {
            FileManager.default.createFile(atPath: directory + "/" + leftover, contents: Data([1, 2, 3]))
        }
        FileManager.default.createFile(atPath: directory + "/00000000000000000000.log", contents: Data())
        #expect(try RaftSnapshotFile.list(in: directory) == [id])
        // Kafka orders ids by epoch first: (5, epoch 2) is later than (10, epoch 1).
        let later = RaftSnapshotFile.ID(endOffset: 5, epoch: 2)
        try RaftSnapshotFile.write(
            KRaftCheckpoint(lastContainedLogTimestamp: 0), id: later, in: directory, timestamp: 0)
        #expect(try RaftSnapshotFile.list(in: directory) == [id, later])
        try FileManager.default.removeItem(atPath: directory + "/" + RaftSnapshotFile.fileName(for: later))
        let removed = try RaftSnapshotFile.removeIncomplete(in: directory)
        #expect(removed.count == 2)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(left == ["00000000000000000000.log", "00000000000000000010-0000000001.checkpoint"])
        #expect(try RaftSnapshotFile.list(in: directory + "/missing").isEmpty)
    }

    /// Flow: 1. write a snapshot; 2. damage it in different ways (flip a byte under the CRC, cut the footer, cut
    /// mid-batch, drop the header batch); 3. every read is a `.corrupt` error naming the file, none traps.
    @Test func damagedSnapshotsAreErrors() throws {
        let directory = folder()
        let id = RaftSnapshotFile.ID(endOffset: 3, epoch: 2)
        let checkpoint = KRaftCheckpoint(
            lastContainedLogTimestamp: 5, records: [ByteBuffer(string: "a"), ByteBuffer(string: "b")])
        let path = try RaftSnapshotFile.write(checkpoint, id: id, in: directory, timestamp: 9)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let batches = try KRaftCheckpoint.batches(in: ByteBuffer(bytes: good), source: path)
        let headerSize = batches[0].sizeInBytes
        let footerSize = batches.last!.sizeInBytes
        var flipped = good
        flipped[headerSize + 70] ^= 0xFF
        let damaged: [(Data, String)] = [
            (flipped, "CRC"),
            (good.prefix(good.count - footerSize), "SnapshotFooterRecord"),
            (good.prefix(good.count - 5), "partial"),
            (good.suffix(from: headerSize), "offset"),
            (Data(), "empty"),
        ]
        for (bytes, message) in damaged {
            try bytes.write(to: URL(fileURLWithPath: path))
            do {
                _ = try RaftSnapshotFile.read(id, in: directory)
                Issue.record("damaged snapshot (\(message)) was accepted")
            } catch {
                #expect(error.code == .corrupt)
                #expect(error.message.contains(path))
                #expect(error.message.contains(message), "\(error)")
            }
        }
    }

    @Test func aSnapshotOverTheLimitIsRefused() throws {
        let directory = folder()
        let id = RaftSnapshotFile.ID(endOffset: 1, epoch: 1)
        try RaftSnapshotFile.write(
            KRaftCheckpoint(lastContainedLogTimestamp: 0, records: [ByteBuffer(repeating: 1, count: 4096)]), id: id,
            in: directory, timestamp: 0)
        #expect(throws: LogError.self) { try RaftSnapshotFile.read(id, in: directory, maximumBytes: 1024) }
    }

    @Test func bootstrapMetadataRoundTrips() throws {
        let directory = folder()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = BootstrapMetadataFile(features: [FeatureLevelRecord(name: "metadata.version", featureLevel: 25)])
        try file.write(to: directory, timestamp: 1)
        let read = try #require(try BootstrapMetadataFile.read(from: directory))
        #expect(read == file && read.metadataVersionLevel == 25)
        // The data record is MetadataRecordSerde's frame: version 1, type 12, record version 0, then the record.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/bootstrap.checkpoint"))
        let batches = try KRaftCheckpoint.batches(in: ByteBuffer(bytes: bytes), source: "bootstrap")
        let value = try #require(try batches[1].records()[0].value)
        #expect(Array(value.readableBytesView.prefix(3)) == [1, 12, 0])
        #expect(try BootstrapMetadataFile.read(from: directory + "/none") == nil)
    }
}
