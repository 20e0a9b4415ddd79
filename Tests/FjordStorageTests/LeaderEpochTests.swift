import FjordReplication
import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

/// The partition's leader epochs on disk (`leader-epoch-checkpoint`) as replication needs them: Kafka's
/// `LeaderEpochFileCache` rules through `PartitionLog`, across appends, truncations and reopening.
@Suite struct LeaderEpochTests {
    private func open(_ directory: String, clean: Bool = true) throws -> PartitionLog {
        try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUIDFixture.id,
            configuration: LogConfiguration(), clock: ManualClock(), cleanShutdown: clean, recoveryPoint: 0)
    }

    /// A batch as a leader wrote it: `count` records from `baseOffset` in `epoch`.
    private func replicated(baseOffset: Int64, count: Int, epoch: Int32) -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.baseOffset = baseOffset
        options.partitionLeaderEpoch = epoch
        var builder = RecordBatchBuilder(options: options)
        for index in 0..<count {
            builder.append(timestamp: 1_700_000_000_000, key: nil, value: ByteBuffer(string: "e\(epoch)-\(index)"))
        }
        return try! builder.build().buffer
    }

    private func entries(_ log: PartitionLog) -> [String] {
        log.leaderEpochHistory.entries.map { "\($0.epoch)@\($0.startOffset)" }
    }

    @Test func aNewLeadersEpochStartsAtItsLogEndBeforeAnyAppend() throws {
        // Flow:
        // 1. Epoch 0 writes offsets 0–2. This replica becomes leader of epoch 2 at its log end (3): recorded at
        //    once, before any append of epoch 2.
        // 2. OffsetForLeaderEpoch answers by Kafka's endOffsetFor: epoch 0 and 1 end at 3 (epoch 1 was never
        //    seen: the largest earlier one, 0, and where the next starts); epoch 2 is the latest: the log end;
        //    epoch 7 and -1 are undefined.
        // 3. An append in epoch 2 adds no entry. Closed and reopened: the same entries from the checkpoint.
        // 4. A reopened log drops an entry that starts at its log end, as Kafka's loader does (the broker assigns
        //    the epoch again when it leads again): led epoch 3 at 5 without appending, it reopens without 3@5.
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try open(directory)
        _ = try log.append(StorageFixtures.batch(count: 3), leaderEpoch: 0)
        try log.assignLeaderEpoch(2, startOffset: log.logEndOffset)
        #expect(entries(log) == ["0@0", "2@3"])
        #expect(log.endOffset(forEpoch: 0) == EpochEndOffset(epoch: 0, endOffset: 3))
        #expect(log.endOffset(forEpoch: 1) == EpochEndOffset(epoch: 0, endOffset: 3))
        #expect(log.endOffset(forEpoch: 2) == EpochEndOffset(epoch: 2, endOffset: 3))
        #expect(log.endOffset(forEpoch: 7) == .undefined)
        #expect(log.endOffset(forEpoch: -1) == .undefined)
        _ = try log.append(StorageFixtures.batch(count: 2), leaderEpoch: 2)
        #expect(entries(log) == ["0@0", "2@3"])
        #expect(log.endOffset(forEpoch: 2) == EpochEndOffset(epoch: 2, endOffset: 5))
        try log.close()
        log = try open(directory)
        #expect(entries(log) == ["0@0", "2@3"])

        try log.assignLeaderEpoch(3, startOffset: 5)
        #expect(entries(log) == ["0@0", "2@3", "3@5"])
        try log.close()
        log = try open(directory)
        #expect(entries(log) == ["0@0", "2@3"])
        try log.close()
    }

    @Test func truncatingAtTheLogEndDropsAnEpochThatStartsThere() throws {
        // A replica that led epoch 1 without appending has 1@3 at its log end. Told to truncate to 3 (its log end:
        // no record goes), the entry must go too (Kafka's truncateTo), on disk as well; else its next fetch would
        // again claim epoch 1 and diverge forever.
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try open(directory)
        _ = try log.append(StorageFixtures.batch(count: 3), leaderEpoch: 0)
        try log.assignLeaderEpoch(1, startOffset: 3)
        try log.truncate(to: 3)
        #expect(log.logEndOffset == 3)
        #expect(entries(log) == ["0@0"])
        try log.truncate(to: 10)
        #expect(log.logEndOffset == 3 && entries(log) == ["0@0"])
        try log.close()
        log = try open(directory)
        #expect(entries(log) == ["0@0"])
        try log.close()
    }

    @Test func aFollowersAppendRecordsEachNewerEpochAndATruncationDropsTheEpochsAfterIt() throws {
        // Flow:
        // 1. As a follower: batches of epoch 0 (0–2), 3 (3–4), 3 (5) and 5 (6–7) arrive as the leader wrote them:
        //    one entry per newer epoch, at its first batch.
        // 2. A new leader says epoch 3 ended at 5: truncation to 5 removes 5–7 and the epoch-5 entry.
        // 3. The new leader's epoch 6 batches then append from 5: entry 6@5.
        // 4. A leader epoch assigned below the latest (a stale, re-elected leader) removes the later entries first.
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try open(directory)
        for (base, count, epoch) in [(0, 3, 0), (3, 2, 3), (5, 1, 3), (6, 2, 5)] as [(Int64, Int, Int32)] {
            _ = try log.appendAsFollower(replicated(baseOffset: base, count: count, epoch: epoch))
        }
        #expect(log.logEndOffset == 8)
        #expect(entries(log) == ["0@0", "3@3", "5@6"])
        #expect(log.endOffset(forEpoch: 4) == EpochEndOffset(epoch: 3, endOffset: 6))

        try log.truncate(to: 5)
        #expect(log.logEndOffset == 5)
        #expect(entries(log) == ["0@0", "3@3"])
        _ = try log.appendAsFollower(replicated(baseOffset: 5, count: 1, epoch: 6))
        #expect(entries(log) == ["0@0", "3@3", "6@5"])
        #expect(log.epoch(atOffset: 4) == 3 && log.epoch(atOffset: 5) == 6)

        try log.assignLeaderEpoch(4, startOffset: 4)
        #expect(entries(log) == ["0@0", "3@3", "4@4"])
        try log.close()
    }

    @Test func recoveryAddsTheEpochsTheCheckpointMissed() throws {
        // A process killed between an append of a new epoch and the checkpoint's write: the batch of epoch 2 is in
        // the log, the checkpoint knows only epoch 0. Recovery (an unclean open) re-reads the batches past the
        // recovery point and adds 2@3, so a consumer that read epoch 2 is not told its epoch is unknown here.
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try open(directory)
        _ = try log.append(StorageFixtures.batch(count: 3), leaderEpoch: 0)
        _ = try log.append(StorageFixtures.batch(count: 2), leaderEpoch: 2)
        try log.close()
        try "0\n1\n0 0\n".write(toFile: directory + "/leader-epoch-checkpoint", atomically: false, encoding: .utf8)
        log = try open(directory, clean: false)
        #expect(entries(log) == ["0@0", "2@3"])
        #expect(log.endOffset(forEpoch: 2) == EpochEndOffset(epoch: 2, endOffset: 5))
        try log.close()
        log = try open(directory)
        #expect(entries(log) == ["0@0", "2@3"])  // written to the checkpoint
        try log.close()
    }
}
