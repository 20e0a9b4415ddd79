import FjordReplication
import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

/// Helpers shared by the storage tests.
enum StorageFixtures {
    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-storage-\(UUID().uuidString)")
            .path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A batch of `count` records with values `"<prefix>-<i>"` and timestamps `timestamp + i`.
    static func batch(
        count: Int, prefix: String = "v", timestamp: Int64 = 1_700_000_000_000, compression: CompressionCodec = .none
    ) -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.compression = compression
        var builder = RecordBatchBuilder(options: options)
        for index in 0..<count {
            builder.append(
                timestamp: timestamp + Int64(index), key: ByteBuffer(string: "k\(index)"),
                value: ByteBuffer(string: "\(prefix)-\(index)")
            )
        }
        return try! builder.build().buffer
    }

    static func records(_ buffer: ByteBuffer) throws -> [Record] {
        try RecordBatchSequence(buffer, mode: .fetch).batches().flatMap { try $0.records() }
    }
}

@Suite struct PartitionLogTests {
    private func open(
        _ directory: String, configuration: LogConfiguration = LogConfiguration(), clean: Bool = true,
        clock: ManualClock = ManualClock()
    ) throws -> PartitionLog {
        try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUIDFixture.id,
            configuration: configuration, clock: clock, cleanShutdown: clean
        )
    }

    @Test func appendAssignsOffsetsAndReadReturnsWholeBatches() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try open(directory)
        let first = try log.append(StorageFixtures.batch(count: 3), leaderEpoch: 0)
        let second = try log.append(StorageFixtures.batch(count: 2, prefix: "w"), leaderEpoch: 1)
        #expect((first.firstOffset, first.lastOffset) == (0, 2))
        #expect((second.firstOffset, second.lastOffset) == (3, 4))
        #expect(log.logEndOffset == 5)

        let all = try log.read(from: 0, maximumBytes: 1 << 20, upperBound: 5)
        let records = try StorageFixtures.records(try log.bytes(of: try #require(all.slice)))
        #expect(records.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(records.map { String(buffer: $0.value!) } == ["v-0", "v-1", "v-2", "w-0", "w-1"])

        // Reading from inside a batch returns that whole batch; the bound hides batches at or above it.
        let middle = try log.read(from: 1, maximumBytes: 1 << 20, upperBound: 3)
        #expect(middle.firstBatchOffset == 0)
        #expect(try StorageFixtures.records(try log.bytes(of: try #require(middle.slice))).count == 3)
        #expect(try log.read(from: 5, maximumBytes: 100, upperBound: 5).slice == nil)
        #expect(throws: LogError.self) { try log.read(from: 6, maximumBytes: 100, upperBound: 6) }

        // A budget smaller than the first batch still returns it whole (Kafka's rule), but no second batch.
        let small = try log.read(from: 0, maximumBytes: 1, upperBound: 5)
        #expect(try StorageFixtures.records(try log.bytes(of: try #require(small.slice))).count == 3)
        #expect(log.endOffset(forEpoch: 0) == EpochEndOffset(epoch: 0, endOffset: 3))
        #expect(log.endOffset(forEpoch: 1) == EpochEndOffset(epoch: 1, endOffset: 5))
    }

    @Test func reopensAfterCleanCloseAndRecoversAfterCrash() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LogConfiguration()
        configuration.indexIntervalBytes = 64
        configuration.segmentBytesMax = 2048
        let log = try open(directory, configuration: configuration)
        for index in 0..<50 { _ = try log.append(StorageFixtures.batch(count: 2, prefix: "r\(index)"), leaderEpoch: 0) }
        #expect(log.segmentCount > 1)
        try log.close()

        let reopened = try open(directory, configuration: configuration)
        #expect(reopened.logEndOffset == 100)
        #expect(reopened.recoveryReport.recoveredSegments == 0)
        let slice = try #require(try reopened.read(from: 57, maximumBytes: 1 << 20, upperBound: 100).slice)
        #expect(try StorageFixtures.records(try reopened.bytes(of: slice)).first?.offset == 56)

        // Tear the tail: append garbage half a batch long, then open as after a crash.
        let tail = try #require(reopened.baseOffsets.last)
        let path = directory + "/" + LogSegment.fileName(tail, ".log")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(Array(StorageFixtures.batch(count: 2).readableBytesView).prefix(30)))
        try handle.close()
        let recovered = try open(directory, configuration: configuration, clean: false)
        #expect(recovered.logEndOffset == 100)
        #expect(recovered.recoveryReport.bytesTruncated == 30)
        #expect(try recovered.append(StorageFixtures.batch(count: 1), leaderEpoch: 0).firstOffset == 100)
    }

    @Test func timestampLookupsTruncationAndLogStart() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = 300
        let log = try open(directory, configuration: configuration)
        for index in 0..<10 {
            _ = try log.append(StorageFixtures.batch(count: 2, timestamp: 1000 + Int64(index) * 10), leaderEpoch: 0)
        }
        #expect(try log.offset(forTimestamp: 1031) == TimestampAndOffset(timestamp: 1031, offset: 7, leaderEpoch: 0))
        #expect(try log.offset(forTimestamp: 2000) == nil)
        #expect(try log.maxTimestampOffset()?.offset == 19)

        try log.truncate(to: 12)
        #expect(log.logEndOffset == 12)
        #expect(try log.append(StorageFixtures.batch(count: 1), leaderEpoch: 1).firstOffset == 12)

        let segmentsBefore = log.segmentCount
        #expect(try log.advanceLogStartOffset(to: 9) == 9)
        #expect(log.segmentCount < segmentsBefore)
        #expect(throws: LogError.self) { try log.read(from: 8, maximumBytes: 100, upperBound: 13) }
        try log.truncateFully(startingAt: 50)
        #expect(log.logStartOffset == 50 && log.logEndOffset == 50)
    }

    @Test func retentionDeletesOldSegmentsButNeverTheActiveOne() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock(milliseconds: 10_000_000)
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = 200
        configuration.retentionMs = 1000
        configuration.fileDeleteDelayMs = 500
        let log = try open(directory, configuration: configuration, clock: clock)
        for _ in 0..<6 {
            _ = try log.append(StorageFixtures.batch(count: 2, timestamp: clock.nowMilliseconds()), leaderEpoch: 0)
        }
        let segments = log.segmentCount
        #expect(segments > 2)
        #expect(try log.applyRetention() == 0)
        clock.advance(byMilliseconds: 2000)
        #expect(try log.applyRetention() == segments - 1)
        #expect(log.segmentCount == 1)
        #expect(log.logStartOffset == log.baseOffsets[0])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(names.contains { $0.hasSuffix(".log.deleted") })
        clock.advance(byMilliseconds: 600)
        _ = try log.applyRetention()
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: directory)).contains { $0.hasSuffix(".deleted") })
    }

    /// Flow: 1. a log is opened with the default settings (as at start-up, before the topic's are known);
    /// 2. its configuration then gets a small `segment.bytes`; 3. the already-open active segment rolls at it.
    @Test func reopenedActiveSegmentRollsAtTheCurrentSegmentBytes() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try open(directory)
        var small = LogConfiguration()
        small.segmentBytesMax = 300
        log.configuration = small
        for _ in 0..<4 { _ = try log.append(StorageFixtures.batch(count: 3), leaderEpoch: 0) }
        #expect(log.segmentCount > 1)
    }
}

enum KafkaUUIDFixture {
    static let id = KafkaUUIDValue.make()
}
