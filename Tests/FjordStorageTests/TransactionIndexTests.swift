import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

@Suite struct TransactionIndexTests {
    private func open(_ directory: String, clean: Bool = true) throws -> PartitionLog {
        try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUIDFixture.id,
            configuration: LogConfiguration(), clock: ManualClock(), cleanShutdown: clean
        )
    }

    /// A log of `batches` one-record batches (offsets 0..<batches), rolled before each offset in `rollAt`; the
    /// batches at the offsets of `markers` are ABORT control batches of the producer given there.
    private func makeLog(
        _ directory: String, batches: Int, rollAt: Set<Int64> = [], markers: [Int64: Int64] = [:]
    ) throws -> PartitionLog {
        let log = try open(directory)
        for offset in 0..<Int64(batches) {
            if rollAt.contains(offset) { try log.roll() }
            if let producerID = markers[offset] {
                var options = RecordBatchBuilder.Options()
                options.producerID = producerID
                options.producerEpoch = 0
                options.isTransactional = true
                options.isControl = true
                var builder = RecordBatchBuilder(options: options)
                builder.append(
                    timestamp: 1, key: ByteBuffer(bytes: [0, 0, 0, 0]), value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
                _ = try log.append(try builder.build().buffer, leaderEpoch: 0)
            } else {
                _ = try log.append(StorageFixtures.batch(count: 1, prefix: "r\(offset)"), leaderEpoch: 0)
            }
        }
        return log
    }

    private func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private func path(_ directory: String, _ base: Int64) -> String {
        directory + "/" + LogSegment.fileName(base, ".txnindex")
    }

    /// Flow: 1. an abort is indexed; 2. the file holds exactly Kafka's 34-byte big-endian entry; 3. adding it
    /// again changes nothing; 4. the dump lists it.
    @Test func entriesHaveKafkasLayoutByteForByte() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try makeLog(directory, batches: 4)
        #expect(!FileManager.default.fileExists(atPath: path(directory, 0)))  // created on the first entry
        let entry = AbortedTransaction(
            producerID: 0x0102_0304_0506_0708, firstOffset: 1, lastOffset: 3, lastStableOffset: 4)
        try log.addAbortedTransaction(entry)
        let expected: [UInt8] =
            [0, 0] + [1, 2, 3, 4, 5, 6, 7, 8] + [0, 0, 0, 0, 0, 0, 0, 1]
            + [0, 0, 0, 0, 0, 0, 0, 3] + [0, 0, 0, 0, 0, 0, 0, 4]
        #expect(try bytes(path(directory, 0)) == expected)
        try log.addAbortedTransaction(entry)
        #expect(try bytes(path(directory, 0)).count == TransactionIndex.entrySize)
        let inspection = try SegmentInspector.inspect(path: path(directory, 0), verifyIndex: false)
        #expect(inspection.allProblems.isEmpty)
        guard case .transactionIndex(let entries) = inspection.contents else {
            Issue.record("not a .txnindex")
            return
        }
        #expect(entries.map(\.transaction) == [entry])
        try log.close()
    }

    /// Flow: 1. aborts end at offsets 3, 6 and 9 in three segments; 2. lookups return the ones overlapping the
    /// range, across segments; 3. a search stops at an entry whose last stable offset covers the bound.
    @Test func lookupReturnsOverlappingAbortsAcrossSegments() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try makeLog(directory, batches: 12, rollAt: [5, 8], markers: [3: 1, 6: 2, 9: 3])
        let a = AbortedTransaction(producerID: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 2)
        let b = AbortedTransaction(producerID: 2, firstOffset: 2, lastOffset: 6, lastStableOffset: 7)
        let c = AbortedTransaction(producerID: 3, firstOffset: 7, lastOffset: 9, lastStableOffset: 10)
        for entry in [a, b, c] { try log.addAbortedTransaction(entry) }
        #expect(try log.segments[0].abortedTransactions() == [a])
        #expect(try log.segments[1].abortedTransactions() == [b])  // in the segment of its marker, not its start
        #expect(try log.segments[2].abortedTransactions() == [c])
        #expect(try log.abortedTransactions(from: 0, upperBound: 12) == [a, b, c])
        #expect(try log.abortedTransactions(from: 4, upperBound: 7) == [b])
        #expect(try log.abortedTransactions(from: 3, upperBound: 4) == [a, b])
        #expect(try log.abortedTransactions(from: 10, upperBound: 12) == [])
        #expect(try log.abortedTransactions(from: 5, upperBound: 5) == [])
        // b's last stable offset 7 reaches the bound: c (starting at 7) is not looked at, and could not overlap.
        #expect(try log.abortedTransactions(from: 5, upperBound: 7) == [b])
        try LogChecks.checkFolder(directory)
        try log.close()
    }

    /// Flow: 1. aborts at 3 and 6; 2. the log is truncated to 5; 3. only the first entry is left, in memory and
    /// on disk; 4. a marker past the log end is not indexed.
    @Test func truncationDropsEntriesWhoseMarkerIsCut() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try makeLog(directory, batches: 8)
        let a = AbortedTransaction(producerID: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 4)
        try log.addAbortedTransaction(a)
        try log.addAbortedTransaction(
            AbortedTransaction(producerID: 2, firstOffset: 1, lastOffset: 6, lastStableOffset: 7))
        try log.truncate(to: 5)
        #expect(try log.abortedTransactions(from: 0, upperBound: 100) == [a])
        #expect(try bytes(path(directory, 0)).count == TransactionIndex.entrySize)
        try log.addAbortedTransaction(
            AbortedTransaction(producerID: 9, firstOffset: 5, lastOffset: 5, lastStableOffset: 6))
        #expect(try log.abortedTransactions(from: 0, upperBound: 100) == [a])
        try log.close()
    }

    /// Flow: 1. an index holds an entry, then a torn partial one; 2. the reopened log returns the whole entry and
    /// cuts the file back; 3. an entry of an unknown version hides itself and what follows, and the dump says so.
    @Test func partialTrailingEntryAndUnknownVersionAreIgnored() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let a = AbortedTransaction(producerID: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 4)
        var log = try makeLog(directory, batches: 8)
        try log.addAbortedTransaction(a)
        try log.close()
        let file = path(directory, 0)
        let whole = try bytes(file)
        try Data(whole + [0, 0, 0, 0, 0, 0, 0, 2, 0, 0]).write(to: URL(fileURLWithPath: file))
        #expect(try SegmentInspector.inspect(path: file, verifyIndex: false).allProblems.count == 1)
        log = try open(directory)
        #expect(try log.abortedTransactions(from: 0, upperBound: 100) == [a])
        #expect(try bytes(file) == whole)
        try log.close()

        var unknown = whole
        unknown[1] = 7  // version 7
        try Data(whole + unknown + whole).write(to: URL(fileURLWithPath: file))
        let parsed = TransactionIndex.parse(ByteBuffer(bytes: whole + unknown + whole))
        #expect(parsed.entries == [a])
        #expect(parsed.problem?.contains("version 7") == true)
        log = try open(directory)
        #expect(try log.abortedTransactions(from: 0, upperBound: 100) == [a])
        try log.close()
    }

    /// Flow: 1. a repair adds an abort older than the last entry; 2. the file is rewritten in marker order.
    @Test func repairKeepsMarkerOrder() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try makeLog(directory, batches: 8)
        let a = AbortedTransaction(producerID: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 4)
        let b = AbortedTransaction(producerID: 2, firstOffset: 1, lastOffset: 6, lastStableOffset: 7)
        try log.addAbortedTransaction(b)
        try log.addAbortedTransaction(a)
        try log.close()
        let reopened = try open(directory)
        #expect(try reopened.abortedTransactions(from: 0, upperBound: 100) == [a, b])
        try reopened.close()
    }

    /// Flow: 1. aborts in the first two of three segments; 2. the log start moves past the first (DeleteRecords);
    /// 3. its .txnindex goes with it, the second's stays; 4. a torn-tail recovery cuts the entry of a lost marker.
    @Test func txnIndexGoesWithItsSegment() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try makeLog(directory, batches: 9, rollAt: [3, 6], markers: [2: 1, 5: 1, 8: 1])
        let a = AbortedTransaction(producerID: 1, firstOffset: 0, lastOffset: 2, lastStableOffset: 3)
        let b = AbortedTransaction(producerID: 1, firstOffset: 3, lastOffset: 5, lastStableOffset: 6)
        let c = AbortedTransaction(producerID: 1, firstOffset: 6, lastOffset: 8, lastStableOffset: 9)
        for entry in [a, b, c] { try log.addAbortedTransaction(entry) }
        try log.advanceLogStartOffset(to: 4)
        #expect(!FileManager.default.fileExists(atPath: path(directory, 0)))
        #expect(FileManager.default.fileExists(atPath: path(directory, 3)))
        #expect(try log.abortedTransactions(from: 4, upperBound: 9) == [b, c])
        try log.close()
        // Tear the last batch (the marker at 8): unclean recovery cuts it, and its index entry with it.
        let logPath = directory + "/" + LogSegment.fileName(6, ".log")
        let data = try bytes(logPath)
        try Data(data.dropLast(5)).write(to: URL(fileURLWithPath: logPath))
        let recovered = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUIDFixture.id,
            configuration: LogConfiguration(), clock: ManualClock(), cleanShutdown: false, recoveryPoint: 6,
            logStartOffset: 4
        )
        #expect(recovered.logEndOffset == 8)
        #expect(try recovered.abortedTransactions(from: 4, upperBound: 9) == [b])
        try LogChecks.checkFolder(directory)
        try recovered.close()
    }
}
