import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

@Suite struct LogCleanerTests {
    /// A clock at the real time, so segment files' modification times (the tombstone horizon) agree with it.
    private func realClock() -> ManualClock {
        ManualClock(milliseconds: SystemStorageClock().nowMilliseconds())
    }

    private func compacted(_ change: (inout LogConfiguration) -> Void = { _ in }) -> LogConfiguration {
        var configuration = LogConfiguration()
        configuration.isCompacted = true
        configuration.deleteRetentionEnabled = false
        change(&configuration)
        return configuration
    }

    private func open(_ directory: String, _ configuration: LogConfiguration, clock: ManualClock, clean: Bool = true)
        throws -> PartitionLog
    {
        try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUIDFixture.id,
            configuration: configuration, clock: clock, cleanShutdown: clean
        )
    }

    /// One batch of `(key, value)` records (nil value: a tombstone), stamped `timestamp`.
    private func batch(
        _ records: [(String, String?)], timestamp: Int64, producerID: Int64 = -1, transactional: Bool = false
    ) -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.producerID = producerID
        options.producerEpoch = producerID >= 0 ? 0 : -1
        options.baseSequence = producerID >= 0 ? 0 : -1
        options.isTransactional = transactional
        var builder = RecordBatchBuilder(options: options)
        for (key, value) in records {
            builder.append(
                timestamp: timestamp, key: ByteBuffer(string: key), value: value.map { ByteBuffer(string: $0) })
        }
        return try! builder.build().buffer
    }

    private func marker(producerID: Int64, commit: Bool, timestamp: Int64) -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.producerID = producerID
        options.producerEpoch = 0
        options.isTransactional = true
        options.isControl = true
        var builder = RecordBatchBuilder(options: options)
        builder.append(
            timestamp: timestamp, key: ByteBuffer(bytes: [0, 0, 0, commit ? 1 : 0]),
            value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
        return try! builder.build().buffer
    }

    private func text(_ buffer: ByteBuffer?) -> String? { buffer.map { String(buffer: $0) } }

    private func keyed(_ records: [Record]) -> [(Int64, String?, String?)] {
        records.map { ($0.offset, text($0.key), text($0.value)) }
    }

    /// Flow: 1. three keys are written four times each across sealed segments, one batch holding several keys;
    /// 2. a clean keeps exactly the latest record per key, at its original offset, and rebuilds the mixed batch
    /// with valid CRCs; 3. the active segment's records (a newer value of a key) are untouched.
    @Test func keepsLatestValuePerKeyWithOffsetsUnchanged() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let log = try open(directory, compacted(), clock: clock)
        _ = try log.append(batch([("a", "a0"), ("b", "b0"), ("c", "c0")], timestamp: now), leaderEpoch: 0)  // 0...2
        for round in 1...3 {
            for key in ["a", "b", "c"] {
                _ = try log.append(batch([(key, "\(key)\(round)")], timestamp: now), leaderEpoch: 0)
            }
            try log.roll()
        }
        // offsets 3...11 written; "b" once more in the active segment.
        _ = try log.append(batch([("b", "b-active")], timestamp: now), leaderEpoch: 0)  // 12
        let activeBase = log.baseOffsets.last!
        let result = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(result.endOffset == activeBase)
        #expect(result.recordsRemoved == 9)
        let records = try LogChecks.allRecords(log)
        #expect(keyed(records).map(\.0) == [9, 10, 11, 12])
        #expect(keyed(records).map(\.2) == ["a3", "b3", "c3", "b-active"])
        #expect(log.logEndOffset == 13)
        #expect(log.baseOffsets.last == activeBase)
        #expect(log.baseOffsets == [0, 9, activeBase])  // the emptied middle segment is gone; the first stays
        try LogChecks.checkFolder(directory)
        // A record in the middle of the old mixed batch: an offset inside a gap reads from the next record.
        let read = try log.read(from: 1, maximumBytes: 1 << 20, upperBound: 13)
        #expect(read.firstBatchOffset == 9)
    }

    /// Flow: 1. a batch loses one of three records; 2. the rebuilt batch keeps base offset, last offset delta and
    /// the producer fields; the kept records keep their offsets.
    @Test func partiallyKeptBatchKeepsItsHeader() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let log = try open(directory, compacted(), clock: clock)
        _ = try log.append(batch([("a", "1"), ("b", "1"), ("c", "1")], timestamp: now, producerID: 5), leaderEpoch: 3)
        _ = try log.append(batch([("c", "2")], timestamp: now), leaderEpoch: 3)
        try log.roll()
        _ = try LogCleaner().clean(log, firstDirtyOffset: 0)
        let slice = try log.read(from: 0, maximumBytes: 1 << 20, upperBound: log.logEndOffset).slice!
        let batches = try RecordBatchSequence(try log.bytes(of: slice), mode: .fetch).batches()
        #expect(batches.count == 2)
        let first = batches[0]
        #expect((first.baseOffset, first.lastOffsetDelta, first.producerID, first.baseSequence) == (0, 2, 5, 0))
        #expect(first.partitionLeaderEpoch == 3)
        #expect(first.isCRCValid)
        #expect(try first.records().map(\.offset) == [0, 1])
    }

    /// Flow: 1. records stamped now in a sealed segment, with `min.compaction.lag.ms` 10 s; 2. a clean keeps
    /// everything; 3. 20 s later the same clean compacts.
    @Test func minCompactionLagKeepsNewRecords() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let log = try open(directory, compacted { $0.minCompactionLagMs = 10_000 }, clock: clock)
        for value in 0..<4 { _ = try log.append(batch([("k", "\(value)")], timestamp: now), leaderEpoch: 0) }
        try log.roll()
        let early = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(early.endOffset == 0)
        #expect(try LogChecks.allRecords(log).count == 4)
        clock.advance(byMilliseconds: 20_000)
        let late = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(late.endOffset == 4)
        #expect(keyed(try LogChecks.allRecords(log)).map(\.0) == [3])
    }

    /// Flow: 1. a key is written, then deleted (a tombstone); 2. a clean keeps the tombstone and drops the value;
    /// 3. before `delete.retention.ms` has passed since that clean, the tombstone stays; 4. after, it goes.
    @Test func tombstonesLiveForDeleteRetention() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let log = try open(directory, compacted { $0.deleteRetentionMs = 60_000 }, clock: clock)
        _ = try log.append(batch([("gone", "v"), ("kept", "v")], timestamp: now), leaderEpoch: 0)
        _ = try log.append(batch([("gone", nil)], timestamp: now), leaderEpoch: 0)
        try log.roll()
        _ = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(keyed(try LogChecks.allRecords(log)).map(\.0) == [1, 2])
        clock.advance(byMilliseconds: 30_000)
        _ = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(keyed(try LogChecks.allRecords(log)).map(\.0) == [1, 2])
        clock.advance(byMilliseconds: 31_000)
        _ = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(keyed(try LogChecks.allRecords(log)).map(\.0) == [1])
        try LogChecks.checkFolder(directory)
    }

    /// Flow: 1. producer 7 aborts a transaction, producer 8 commits one; 2. a clean drops the aborted records,
    /// keeps both markers and the committed record; producer 7's emptied batch stays (its last batch) with its
    /// offsets; 3. the aborted transaction is still indexed.
    @Test func abortedRecordsGoMarkersStay() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let log = try open(directory, compacted(), clock: clock)
        _ = try log.append(
            batch([("x", "aborted"), ("z", "aborted")], timestamp: now, producerID: 7, transactional: true),
            leaderEpoch: 0)  // 0, 1
        _ = try log.append(
            batch([("y", "committed")], timestamp: now, producerID: 8, transactional: true), leaderEpoch: 0)  // 2
        _ = try log.append(marker(producerID: 7, commit: false, timestamp: now), leaderEpoch: 0)  // 3
        try log.addAbortedTransaction(
            AbortedTransaction(producerID: 7, firstOffset: 0, lastOffset: 3, lastStableOffset: 2))
        _ = try log.append(marker(producerID: 8, commit: true, timestamp: now), leaderEpoch: 0)  // 4
        _ = try log.append(batch([("plain", "p")], timestamp: now), leaderEpoch: 0)  // 5
        try log.roll()
        let result = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(result.recordsRemoved == 2)
        let slice = try log.read(from: 0, maximumBytes: 1 << 20, upperBound: log.logEndOffset).slice!
        let batches = try RecordBatchSequence(try log.bytes(of: slice), mode: .fetch).batches()
        #expect(batches.map(\.baseOffset) == [0, 2, 3, 4, 5])
        #expect(batches[0].recordCount == 0 && batches[0].lastOffset == 1 && batches[0].producerID == 7)
        #expect(batches.filter(\.isControl).count == 2)
        let data = try batches.filter { !$0.isControl }.flatMap { try $0.records() }
        #expect(data.map { text($0.key) } == ["y", "plain"])
        #expect(try log.abortedTransactions(from: 0, upperBound: 6).map(\.producerID) == [7])
        try LogChecks.checkFolder(directory)
    }

    /// Flow: 1. a reader takes a slice of a sealed segment (as a fetch does before `sendfile`); 2. the segment is
    /// cleaned and swapped; 3. the old slice still reads the old bytes (the renamed file stays until
    /// `file.delete.delay.ms`), while a new read sees the cleaned segment.
    @Test func readersOfTheOldSegmentKeepReading() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let log = try open(directory, compacted(), clock: clock)
        for value in 0..<6 { _ = try log.append(batch([("k", "\(value)")], timestamp: now), leaderEpoch: 0) }
        try log.roll()
        let old = try log.read(from: 0, maximumBytes: 1 << 20, upperBound: 6).slice!
        let before = try log.bytes(of: old)
        old.file.closeDescriptor()  // even a descriptor the file cache closed reopens by its new name
        _ = try LogCleaner().clean(log, firstDirtyOffset: 0)
        #expect(try log.bytes(of: old) == before)
        #expect(FileManager.default.fileExists(atPath: directory + "/" + LogSegment.fileName(0, ".log.deleted")))
        #expect(keyed(try LogChecks.allRecords(log)).map(\.0) == [5])
    }

    /// Flow: 1. the upper bound (last stable offset) is inside the sealed data; 2. nothing at or past it is
    /// compacted, and the dirty part ends there.
    @Test func upperBoundStopsTheRange() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let log = try open(directory, compacted(), clock: clock)
        for value in 0..<6 { _ = try log.append(batch([("k", "\(value)")], timestamp: now), leaderEpoch: 0) }
        try log.roll()
        let result = try LogCleaner().clean(log, firstDirtyOffset: 0, upperBound: 3)
        #expect(result.endOffset == 3)
        #expect(keyed(try LogChecks.allRecords(log)).map(\.0) == [2, 3, 4, 5])
    }

    /// Flow: 1. a log is written and closed; 2. a `.cleaned` leftover is planted; 3. reopening deletes it and
    /// the records are intact.
    @Test func leftoverCleanedFileIsDeletedAtLoad() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let log = try open(directory, compacted(), clock: clock)
        for value in 0..<4 {
            _ = try log.append(batch([("k", "\(value)")], timestamp: clock.nowMilliseconds()), leaderEpoch: 0)
        }
        try log.roll()
        try log.close()
        let cleaned = directory + "/" + LogSegment.fileName(0, ".log.cleaned")
        #expect(FileManager.default.createFile(atPath: cleaned, contents: Data([1, 2, 3])))
        let reopened = try open(directory, compacted(), clock: clock, clean: false)
        #expect(!FileManager.default.fileExists(atPath: cleaned))
        #expect(try LogChecks.allRecords(reopened).count == 4)
    }

    /// Flow: 1. two identical logs; the second is cleaned; 2. its cleaned segment is planted in the first as
    /// `<base>.log.swap` (a crash after the swap file was complete), once with the old segment still in place and
    /// once with it already renamed `.deleted`; 3. reopening completes the swap: the first log reads as the second.
    @Test(arguments: [false, true]) func leftoverSwapFileIsCompletedAtLoad(oldAlreadyRenamed: Bool) throws {
        let original = StorageFixtures.temporaryDirectory()
        let copy = StorageFixtures.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: original)
            try? FileManager.default.removeItem(atPath: copy)
        }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        for directory in [original, copy] {
            let log = try open(directory, compacted(), clock: clock)
            for value in 0..<5 {
                _ = try log.append(batch([("k\(value % 2)", "\(value)")], timestamp: now), leaderEpoch: 0)
            }
            try log.roll()
            _ = try log.append(batch([("k0", "active")], timestamp: now), leaderEpoch: 0)
            if directory == copy { _ = try LogCleaner().clean(log, firstDirtyOffset: 0) }
            try log.close()
        }
        let name = LogSegment.fileName(0, ".log")
        try FileManager.default.copyItem(atPath: copy + "/" + name, toPath: original + "/" + name + ".swap")
        if oldAlreadyRenamed {
            try FileManager.default.moveItem(atPath: original + "/" + name, toPath: original + "/" + name + ".deleted")
        }
        let reopened = try open(original, compacted(), clock: clock, clean: false)
        #expect(keyed(try LogChecks.allRecords(reopened)).map(\.0) == [3, 4, 5])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: original).filter {
            $0.hasSuffix(".swap") || $0.hasSuffix(".deleted")
        }
        #expect(leftovers.isEmpty)
        try LogChecks.checkFolder(original)
    }

    /// Flow: 1. a compacted log in a LogManager: the first pass finds it all dirty and cleans it, writing the
    /// cleaner checkpoint; 2. a little more data makes a small dirty ratio: no pass at 0.5; 3. at 0.01 it cleans.
    @Test func dirtyRatioGatesThePass() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let manager = LogManager(dataDirectories: [directory], clock: clock)
        let partition = TopicPartition("t", 0)
        let log = try manager.createLog(partition, topicID: KafkaUUIDFixture.id, configuration: compacted())
        for value in 0..<40 {
            _ = try log.append(batch([("k\(value % 20)", "\(value)")], timestamp: now), leaderEpoch: 0)
        }
        try log.roll()
        let first = try manager.cleanCompactedLogs(with: LogCleaner())
        #expect(first[partition]?.endOffset == 40)
        #expect(try manager.cleanerCheckpoints() == [partition: 40])
        _ = try log.append(batch([("k1", "new")], timestamp: now), leaderEpoch: 0)
        try log.roll()
        #expect(try manager.cleanCompactedLogs(with: LogCleaner()).isEmpty)
        log.configuration = compacted { $0.minCleanableDirtyRatio = 0.01 }
        let second = try manager.cleanCompactedLogs(with: LogCleaner())
        #expect(second[partition]?.endOffset == 41)
        #expect(try manager.cleanerCheckpoints() == [partition: 41])
        #expect(try LogChecks.allRecords(log).count == 20)
        // Not compacted: never touched.
        log.configuration = LogConfiguration()
        _ = try log.append(batch([("k1", "newer")], timestamp: now), leaderEpoch: 0)
        try log.roll()
        #expect(try manager.cleanCompactedLogs(with: LogCleaner()).isEmpty)
    }

    /// Flow: 1. random keyed writes (some tombstones), random rolls and random passes (with a small key map, so
    /// passes clean prefixes); 2. after a final roll and passes until nothing is dirty, the log holds exactly the
    /// latest record of every key at its original offset, each record as written; 3. the same after a reopen.
    @Test func randomizedAgainstModel() throws {
        let seed = SeededGenerator.seed(from: "STORAGE_SEED", test: "LogCleanerTests.randomizedAgainstModel")
        var random = SeededGenerator(seed: seed)
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = realClock()
        let now = clock.nowMilliseconds()
        let configuration = compacted { $0.segmentBytesMax = 600 + random.next(below: 2000) }
        let log = try open(directory, configuration, clock: clock)
        var written = [Int64: (String, String?)]()
        var latest = [String: Int64]()
        var dirty: Int64 = 0
        var cleanerConfiguration = LogCleaner.Configuration()
        cleanerConfiguration.maximumMapEntries = 3 + random.next(below: 20)
        let cleaner = LogCleaner(configuration: cleanerConfiguration)
        for _ in 0..<300 {
            let count = 1 + random.next(below: 4)
            var records = [(String, String?)]()
            for _ in 0..<count {
                let key = "k\(random.next(below: 30))"
                records.append((key, random.next(below: 8) == 0 ? nil : "v\(random.next() % 1000)"))
            }
            let result = try log.append(batch(records, timestamp: now), leaderEpoch: 0)
            for (index, record) in records.enumerated() {
                written[result.firstOffset + Int64(index)] = record
                latest[record.0] = result.firstOffset + Int64(index)
            }
            if random.next(below: 10) == 0 { try log.roll() }
            if random.next(below: 15) == 0 { dirty = try cleaner.clean(log, firstDirtyOffset: dirty).endOffset }
        }
        try log.roll()
        for _ in 0..<10_000 {
            let next = try cleaner.clean(log, firstDirtyOffset: dirty).endOffset
            if next == dirty { break }
            dirty = next
        }
        #expect(dirty == log.logEndOffset, "seed \(seed)")
        let check = { (log: PartitionLog) throws in
            let records = try LogChecks.allRecords(log)
            #expect(records.map(\.offset) == latest.values.sorted(), "seed \(seed)")
            for record in records {
                let original = written[record.offset]
                #expect(original?.0 == self.text(record.key) && original?.1 == self.text(record.value), "seed \(seed)")
            }
        }
        try check(log)
        try LogChecks.checkFolder(directory)
        try log.close()
        try check(try open(directory, configuration, clock: clock, clean: false))
    }
}
