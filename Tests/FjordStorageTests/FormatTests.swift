import FjordReplication
import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

/// Kafka's on-disk formats, byte for byte.
@Suite struct FormatTests {
    @Test func segmentFileNamesHaveTwentyDigits() {
        #expect(LogSegment.fileName(0, ".log") == "00000000000000000000.log")
        #expect(LogSegment.fileName(1_234_567, ".timeindex") == "00000000000001234567.timeindex")
        #expect(SegmentInspector.baseOffset(ofFile: "/x/00000000000001234567.index") == 1_234_567)
    }

    /// Flow: 1. parse index bytes: two 8-byte entries then zero padding (an untrimmed file); 2. a bad tail is
    /// reported; 3. lookups find the largest entry ≤ the offset.
    @Test func offsetIndexEntriesAreEightBytes() throws {
        var bytes = ByteBuffer()
        bytes.writeMultipleIntegers(UInt32(10), UInt32(4200), UInt32(25), UInt32(9000))
        bytes.writeRepeatingByte(0, count: 24)
        let (entries, clean) = OffsetIndex.parse(bytes)
        #expect(entries.map(\.relativeOffset) == [10, 25] && entries.map(\.position) == [4200, 9000] && clean)
        bytes.writeInteger(UInt32(7))
        #expect(OffsetIndex.parse(bytes).clean == false)

        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try SegmentFile(path: directory + "/00000000000000000100.index", create: true)
        var index = OffsetIndex(file: file, baseOffset: 100, maximumBytes: 80)
        try index.append(offset: 110, position: 4200)
        try index.append(offset: 125, position: 9000)
        #expect(index.lookup(99) == (100, 0))
        #expect(index.lookup(115) == (110, 4200))
        #expect(index.lookup(1_000) == (125, 9000))
        let onDisk = try file.read(at: 0, length: 100)
        #expect(Array(onDisk.readableBytesView) == [0, 0, 0, 10, 0, 0, 0x10, 0x68, 0, 0, 0, 25, 0, 0, 0x23, 0x28])
        try index.preallocate()
        #expect(try file.size() == 80)
        try index.trim()
        #expect(try file.size() == 16)
    }

    /// Flow: 1. time-index entries are 12 bytes (timestamp, relative offset); 2. they only grow; 3. a lookup starts
    /// at the last entry older than the target.
    @Test func timeIndexEntriesAreTwelveBytes() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try SegmentFile(path: directory + "/00000000000000000100.timeindex", create: true)
        var index = TimeIndex(file: file, baseOffset: 100, maximumBytes: 120)
        try index.maybeAppend(timestamp: 5_000, offset: 104)
        try index.maybeAppend(timestamp: 4_000, offset: 108)  // older: ignored
        try index.maybeAppend(timestamp: 7_000, offset: 120)
        #expect(index.entries.map(\.timestamp) == [5_000, 7_000])
        #expect(try file.size() == 24)
        let bytes = try file.read(at: 0, length: 12)
        #expect(bytes.getInteger(at: 0, as: Int64.self) == 5_000 && bytes.getInteger(at: 8, as: UInt32.self) == 4)
        #expect(index.lookup(4_000) == 100)
        #expect(index.lookup(6_000) == 104)
        #expect(index.lookup(9_000) == 120)
    }

    /// Flow: the offset checkpoints and the leader-epoch checkpoint use Kafka's text: version, count, lines; they
    /// round-trip, and a malformed one is rejected.
    @Test func checkpointFilesUseKafkasText() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/recovery-point-offset-checkpoint"
        try CheckpointFile.writeOffsets([TopicPartition("b", 1): 42, TopicPartition("a", 0): 7], to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "0\n2\na 0 7\nb 1 42\n")
        #expect(try CheckpointFile.readOffsets(path) == [TopicPartition("b", 1): 42, TopicPartition("a", 0): 7])
        try "0\n3\na 0 7\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: LogError.self) { try CheckpointFile.readOffsets(path) }
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))

        var epochs = try LeaderEpochCache(path: directory + "/leader-epoch-checkpoint")
        try epochs.assign(epoch: 1, startOffset: 0)
        try epochs.assign(epoch: 3, startOffset: 50)
        #expect(
            try String(contentsOfFile: directory + "/leader-epoch-checkpoint", encoding: .utf8) == "0\n2\n1 0\n3 50\n")
        #expect(epochs.endOffset(forEpoch: 2, logEndOffset: 80) == EpochEndOffset(epoch: 1, endOffset: 50))
        try epochs.truncate(fromStart: 60)
        #expect(try String(contentsOfFile: directory + "/leader-epoch-checkpoint", encoding: .utf8) == "0\n1\n3 60\n")
        #expect(try LeaderEpochCache(path: directory + "/leader-epoch-checkpoint").entries.map(\.epoch) == [3])
        // A line that is not "epoch offset" with both non-negative is skipped, the others kept.
        try "0\n3\n1 0\n-1 5\n4 90\n".write(
            toFile: directory + "/leader-epoch-checkpoint", atomically: false, encoding: .utf8)
        #expect(try LeaderEpochCache(path: directory + "/leader-epoch-checkpoint").entries.map(\.epoch) == [1, 4])
    }

    @Test func partitionMetadataHoldsTheTopicID() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let id = KafkaUUIDFixture.id
        #expect(try PartitionMetadataFile.loadOrCreate(directory: directory, topicID: id) == id)
        #expect(
            try String(contentsOfFile: directory + "/partition.metadata", encoding: .utf8)
                == "version: 0\ntopic_id: \(id.base64URLEncoded)\n")
        #expect(try PartitionMetadataFile.loadOrCreate(directory: directory, topicID: .zero) == id)
        #expect(throws: LogError.self) {
            try PartitionMetadataFile.loadOrCreate(directory: directory, topicID: KafkaUUID(high: 9, low: 9))
        }
    }

    /// Flow: 1. the active segment's indexes are preallocated to `segment.index.bytes`; 2. a roll trims the old
    /// one's; 3. a clean shutdown trims the active one's and leaves `.kafka_cleanshutdown`; 4. the next start
    /// reads the marker, removes it and opens without recovery.
    @Test func preallocationTrimAndCleanShutdownMarker() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LogConfiguration()
        configuration.segmentIndexBytesMax = 1024
        configuration.indexIntervalBytes = 10
        let manager = LogManager(dataDirectories: [directory], clock: ManualClock())
        let log = try manager.createLog(
            TopicPartition("p", 0), topicID: KafkaUUIDFixture.id, configuration: configuration)
        for _ in 0..<4 { _ = try log.append(StorageFixtures.batch(count: 2), leaderEpoch: 0) }
        let folder = log.directory
        func size(_ name: String) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as! Int
        }
        #expect(try size("00000000000000000000.index") == 1024)
        #expect(try size("00000000000000000000.timeindex") == 1020)
        try log.roll()
        #expect(try size("00000000000000000000.index") == 3 * 8)
        #expect(try size("00000000000000000008.index") == 1024)
        try manager.shutdown()
        #expect(try size("00000000000000000008.index") == 0)
        #expect(FileManager.default.fileExists(atPath: directory + "/.kafka_cleanshutdown"))

        let reopened = LogManager(dataDirectories: [directory], clock: ManualClock())
        let logs = try reopened.loadExisting { _ in configuration }
        #expect(reopened.previousShutdownWasClean)
        #expect(!FileManager.default.fileExists(atPath: directory + "/.kafka_cleanshutdown"))
        #expect(logs[TopicPartition("p", 0)]?.recoveryReport.recoveredSegments == 0)
        #expect(logs[TopicPartition("p", 0)]?.logEndOffset == 8)
        try reopened.shutdown()
    }
}
