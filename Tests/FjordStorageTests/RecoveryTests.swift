import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

/// Tears and corruptions of the files on disk, then an open: recovery cuts exactly at the last good batch, and
/// indexes that do not agree with their log are rebuilt.
@Suite struct RecoveryTests {
    static var configuration: LogConfiguration {
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = 16 * 1024
        configuration.indexIntervalBytes = 256
        return configuration
    }

    /// A closed log of 120 batches (several segments); returns the folder and each batch's (first offset, position,
    /// size) in the last segment.
    private func makeLog() throws -> (directory: String, lastSegment: Int64, batches: [SegmentInspector.Batch]) {
        let directory = StorageFixtures.temporaryDirectory()
        let log = try open(directory, clean: true)
        for index in 0..<120 {
            _ = try log.append(
                StorageFixtures.batch(count: 3, prefix: "r\(index)-" + String(repeating: "x", count: 100)),
                leaderEpoch: 0)
        }
        let last = try #require(log.baseOffsets.last)
        #expect(log.segmentCount > 3)
        try log.close()
        let batches = try SegmentInspector.batches(ofLog: directory + "/" + LogSegment.fileName(last, ".log")).batches
        return (directory, last, batches)
    }

    private func open(_ directory: String, clean: Bool, recoveryPoint: Int64 = 0) throws -> PartitionLog {
        try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUIDFixture.id,
            configuration: Self.configuration, clock: ManualClock(), cleanShutdown: clean, recoveryPoint: recoveryPoint
        )
    }

    private func modify(_ path: String, _ body: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        body(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Flow: 1. truncate the last segment in the middle of its last batch; 2. open unclean; 3. the log ends at that
    /// batch's base offset, exactly the torn bytes are cut, and the folder checks out.
    @Test func truncatedMidBatchIsCutAtTheLastGoodBatch() throws {
        let (directory, last, batches) = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let torn = try #require(batches.last)
        let path = directory + "/" + LogSegment.fileName(last, ".log")
        try modify(path) { $0.removeLast(torn.batch.sizeInBytes / 2) }
        let log = try open(directory, clean: false, recoveryPoint: last)
        #expect(log.logEndOffset == torn.batch.baseOffset)
        #expect(log.recoveryReport.bytesTruncated == Int64(torn.batch.sizeInBytes - torn.batch.sizeInBytes / 2))
        #expect(log.recoveryReport.recoveredSegments == 1)
        #expect(try LogChecks.allRecords(log).count == Int(torn.batch.baseOffset))
        try log.close()
        try LogChecks.checkFolder(directory)
    }

    /// Flow: 1. flip a byte inside the last batch's records; 2. open unclean; 3. the CRC fails and the batch goes.
    @Test func flippedBytesInTheLastBatchAreCut() throws {
        let (directory, last, batches) = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bad = try #require(batches.last)
        try modify(directory + "/" + LogSegment.fileName(last, ".log")) { $0[Int(bad.position) + 70] ^= 0xFF }
        let log = try open(directory, clean: false, recoveryPoint: last)
        #expect(log.logEndOffset == bad.batch.baseOffset)
        #expect(log.recoveryReport.bytesTruncated == Int64(bad.batch.sizeInBytes))
        try log.close()
        try LogChecks.checkFolder(directory)
    }

    /// Flow: 1. zero a 4 KiB block in the middle of an earlier segment; 2. open unclean with the recovery point
    /// before it; 3. the log is cut at the first batch the block touches and every later segment is dropped.
    @Test func zeroedBlockInTheMiddleCutsThereAndDropsLaterSegments() throws {
        let (directory, _, _) = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }
            .sorted()
        let victim = directory + "/" + names[1]
        let batches = try SegmentInspector.batches(ofLog: victim).batches
        let blockStart = 4096
        let firstTouched = try #require(batches.first { $0.position + Int64($0.batch.sizeInBytes) > Int64(blockStart) })
        try modify(victim) { bytes in for index in blockStart..<(blockStart + 4096) { bytes[index] = 0 } }
        let log = try open(directory, clean: false, recoveryPoint: SegmentInspector.baseOffset(ofFile: names[1]))
        #expect(log.logEndOffset == firstTouched.batch.baseOffset)
        #expect(log.recoveryReport.segmentsDropped == names.count - 2)
        #expect(log.segmentCount == 2)
        #expect(try LogChecks.allRecords(log).last?.offset == firstTouched.batch.baseOffset - 1)
        try log.close()
        try LogChecks.checkFolder(directory)
    }

    /// Flow: 1. delete one sealed segment's offset index and fill another's time index with garbage; 2. open
    /// cleanly (lazily); 3. reads and time lookups through those segments are right, and the rebuilt files check out.
    @Test func missingOrCorruptIndexesAreRebuiltFromTheLog() throws {
        let (directory, _, _) = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reference = try open(directory, clean: true)
        let expected = try LogChecks.allRecords(reference)
        let expectedTime = try reference.offset(forTimestamp: 1_700_000_000_001)
        try reference.close()
        let bases = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }
            .sorted()
            .map { SegmentInspector.baseOffset(ofFile: $0) }
        try FileManager.default.removeItem(atPath: directory + "/" + LogSegment.fileName(bases[1], ".index"))
        try modify(directory + "/" + LogSegment.fileName(bases[2], ".timeindex")) { bytes in
            bytes = (0..<36).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        }
        try modify(directory + "/" + LogSegment.fileName(bases[0], ".index")) { bytes in
            bytes += [1, 2, 3, 4, 5, 6, 7, 8]  // garbage after the entries
        }
        let log = try open(directory, clean: true)
        #expect(log.recoveryReport.recoveredSegments == 0)
        #expect(log.loadedSegmentCount == 1)
        #expect(try LogChecks.allRecords(log) == expected)
        #expect(try log.offset(forTimestamp: 1_700_000_000_001) == expectedTime)
        try log.close()
        try LogChecks.checkFolder(directory)
    }

    /// Flow: 1. a clean close leaves trimmed indexes and the active segment re-opens without recovery;
    /// 2. an active segment with bytes after its last batch (a tear after a "clean" marker) is recovered anyway.
    @Test func cleanOpenChecksTheActiveSegmentTail() throws {
        let (directory, last, _) = try makeLog()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let indexSize =
            try FileManager.default.attributesOfItem(atPath: directory + "/" + LogSegment.fileName(last, ".index"))[
                .size] as? Int
        #expect(indexSize.map { $0 % 8 == 0 && $0 < Self.configuration.segmentIndexBytesMax } == true)
        try modify(directory + "/" + LogSegment.fileName(last, ".log")) { $0 += [0, 0, 0, 0, 0, 0, 0, 9, 0, 0] }
        let log = try open(directory, clean: true)
        #expect(log.recoveryReport.recoveredSegments == 1)
        #expect(log.recoveryReport.bytesTruncated == 10)
        try log.close()
        try LogChecks.checkFolder(directory)
    }
}
