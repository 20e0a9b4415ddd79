import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import FjordStorage

@Suite struct StorageServicesTests {
    private func manager(_ clock: ManualClock) -> (LogManager, String) {
        let directory = StorageFixtures.temporaryDirectory()
        return (LogManager(dataDirectories: [directory], clock: clock), directory)
    }

    /// Flow: 1. a log with `flush.ms` = 1000 and one with `flush.messages` = 3; 2. a pass before either is due
    /// flushes nothing; 3. after 3 messages the second is flushed at once; 4. once 1000 ms pass the first is, and
    /// the recovery-point checkpoint holds both log ends.
    @Test func flusherSyncsLogsWhosePolicyIsDue() async throws {
        let clock = ManualClock()
        let (manager, directory) = manager(clock)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var byTime = LogConfiguration()
        byTime.flushMs = 1000
        var byCount = LogConfiguration()
        byCount.flushMessages = 3
        let timed = try manager.createLog(
            TopicPartition("timed", 0), topicID: KafkaUUIDFixture.id, configuration: byTime)
        let counted = try manager.createLog(
            TopicPartition("counted", 0), topicID: KafkaUUIDFixture.id, configuration: byCount)
        let flusher = LogFlusher(manager: manager, clock: clock)

        _ = try timed.append(StorageFixtures.batch(count: 2), leaderEpoch: 0)
        #expect(try counted.append(StorageFixtures.batch(count: 2), leaderEpoch: 0).flushRequested == false)
        #expect(try await flusher.flushDue().isEmpty)
        #expect(timed.recoveryPoint == 0 && counted.recoveryPoint == 0)

        #expect(try counted.append(StorageFixtures.batch(count: 1), leaderEpoch: 0).flushRequested)
        #expect(try await flusher.flushDue() == [TopicPartition("counted", 0)])
        #expect(counted.recoveryPoint == 3 && timed.recoveryPoint == 0)

        clock.advance(byMilliseconds: 1000)
        #expect(try await flusher.flushDue() == [TopicPartition("timed", 0)])
        #expect(timed.recoveryPoint == 2)
        let checkpoint = try String(
            contentsOfFile: directory + "/" + LogManager.recoveryPointCheckpoint, encoding: .utf8)
        #expect(checkpoint == "0\n2\ncounted 0 3\ntimed 0 2\n")
    }

    /// Flow: 1. with Kafka's default policy (never force an fsync) a log rolls twice; 2. a flusher pass fsyncs the
    /// sealed segments and moves the recovery point to the active segment's base, but not past it.
    @Test func flusherSyncsRolledSegmentsUnderTheDefaultPolicy() async throws {
        let clock = ManualClock()
        let (manager, directory) = manager(clock)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = 300
        let log = try manager.createLog(
            TopicPartition("rolled", 0), topicID: KafkaUUIDFixture.id, configuration: configuration)
        for _ in 0..<8 { _ = try log.append(StorageFixtures.batch(count: 2), leaderEpoch: 0) }
        #expect(log.segmentCount > 2)
        #expect(try await LogFlusher(manager: manager, clock: clock).flushDue().isEmpty)
        #expect(log.recoveryPoint == log.baseOffsets.last!)
        #expect(log.recoveryPoint < log.logEndOffset)
    }

    /// Flow: 1. run the flusher as a service with a sleep the test controls (three passes, then cancellation);
    /// 2. a due log is flushed by the passes and `run()` returns when cancelled.
    @Test func flusherServiceRunsPassesUntilCancelled() async throws {
        let clock = ManualClock()
        let (manager, directory) = manager(clock)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LogConfiguration()
        configuration.flushMs = 0
        let log = try manager.createLog(
            TopicPartition("s", 0), topicID: KafkaUUIDFixture.id, configuration: configuration)
        _ = try log.append(StorageFixtures.batch(count: 4), leaderEpoch: 0)
        let sleeps = NIOLockedValueBox(0)
        let flusher = LogFlusher(
            manager: manager, clock: clock,
            sleep: { _ in
                let count = sleeps.withLockedValue {
                    $0 += 1
                    return $0
                }
                if count > 3 { throw CancellationError() }
            })
        try await flusher.run()
        #expect(sleeps.withLockedValue { $0 } == 4)
        #expect(log.recoveryPoint == 4)
    }

    /// Flow: 1. two topics with their own `retention.ms`; 2. time passes beyond one's retention only; 3. a pass
    /// deletes that topic's old segments (never the active one), keeps the other's, moves the log start, and
    /// removes a deleted partition's folder.
    @Test func retentionServiceAppliesEachLogsOwnConfiguration() async throws {
        let clock = ManualClock(milliseconds: 10_000_000)
        let (manager, directory) = manager(clock)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var short = LogConfiguration()
        short.segmentBytesMax = 200
        short.retentionMs = 1_000
        var long = short
        long.retentionMs = 100_000
        let shortLog = try manager.createLog(
            TopicPartition("short", 0), topicID: KafkaUUIDFixture.id, configuration: short)
        let longLog = try manager.createLog(
            TopicPartition("long", 0), topicID: KafkaUUIDFixture.id, configuration: long)
        _ = try manager.createLog(TopicPartition("gone", 0), topicID: KafkaUUIDFixture.id, configuration: long)
        for _ in 0..<5 {
            _ = try shortLog.append(StorageFixtures.batch(count: 2, timestamp: clock.nowMilliseconds()), leaderEpoch: 0)
            _ = try longLog.append(StorageFixtures.batch(count: 2, timestamp: clock.nowMilliseconds()), leaderEpoch: 0)
        }
        try manager.deleteLog(TopicPartition("gone", 0))
        let service = RetentionService(manager: manager)
        clock.advance(byMilliseconds: 5_000)
        let segments = longLog.segmentCount
        let expectedDeleted = shortLog.segmentCount - 1
        #expect(expectedDeleted > 1)
        #expect(try await service.runPass() == expectedDeleted)
        #expect(shortLog.segmentCount == 1)
        #expect(shortLog.logStartOffset == shortLog.baseOffsets[0])
        #expect(longLog.segmentCount == segments && longLog.logStartOffset == 0)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: directory)).contains { $0.hasSuffix("-delete") })
        let checkpoint = try String(contentsOfFile: directory + "/" + LogManager.logStartCheckpoint, encoding: .utf8)
        #expect(checkpoint.contains("short 0 \(shortLog.logStartOffset)\n"))
    }

    /// Flow: 1. a compacted log and an uncompacted one hold the same superseded records in sealed segments; 2. the
    /// cleaner service, run with a sleep the test controls (two passes, then cancellation), compacts only the first
    /// and passes the upper bound it is given; 3. disabled (`log.cleaner.enable=false`), it returns without a pass.
    @Test func logCleanerServiceCleansCompactedLogsUpToTheirBound() async throws {
        let clock = ManualClock()
        let (manager, directory) = manager(clock)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var compacted = LogConfiguration()
        compacted.isCompacted = true
        let logs = [
            try manager.createLog(
                TopicPartition("compacted", 0), topicID: KafkaUUIDFixture.id, configuration: compacted),
            try manager.createLog(
                TopicPartition("plain", 0), topicID: KafkaUUIDFixture.id, configuration: LogConfiguration()),
        ]
        for log in logs {
            for _ in 0..<4 { _ = try log.append(StorageFixtures.batch(count: 2), leaderEpoch: 0) }
            try log.roll()
        }
        let sleeps = NIOLockedValueBox(0)
        var configuration = LogCleanerService.Configuration()
        configuration.interval = .milliseconds(1)
        let service = LogCleanerService(
            manager: manager, configuration: configuration, upperBound: { _ in 6 },
            sleep: { _ in
                let count = sleeps.withLockedValue {
                    $0 += 1
                    return $0
                }
                if count > 2 { throw CancellationError() }
            })
        try await service.run()
        #expect(try LogChecks.allRecords(logs[0]).map(\.offset) == [4, 5, 6, 7])
        #expect(try LogChecks.allRecords(logs[1]).count == 8)
        #expect(try manager.cleanerCheckpoints() == [TopicPartition("compacted", 0): 6])

        configuration.isEnabled = false
        let disabled = LogCleanerService(
            manager: manager, configuration: configuration,
            sleep: { _ in
                Issue.record("a disabled cleaner must not run passes")
                throw CancellationError()
            })
        try await disabled.run()
    }
}
