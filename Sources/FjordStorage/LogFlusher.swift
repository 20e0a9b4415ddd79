import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// Carries out the flush policy of every log of a `LogManager` (a `Service`; STYLE.md §10).
///
/// Every `interval` (Kafka: `log.flush.scheduler.interval.ms`) it fsyncs the logs whose policy asks for it —
/// `flush.messages` reached (an append returned `flushRequested`) or the oldest unflushed append older than
/// `flush.ms` — and the segments of other logs sealed by a roll since (so the recovery point follows the rolls and
/// a restart after a crash re-reads only the active segments), and then writes the data folders' `recovery-point-offset-checkpoint` and
/// `log-start-offset-checkpoint`; it also writes them every `checkpointInterval` (Kafka:
/// `log.flush.offset.checkpoint.interval.ms`) when nothing was flushed. fsync and the checkpoint writes run on
/// `threadPool`, never on an event loop. With Kafka's defaults (`flush.ms` and `flush.messages` unlimited) it
/// never forces an fsync: durability comes from replication, roll-time and shutdown fsyncs.
public struct LogFlusher: Service {
    /// Its settings (STYLE.md §12).
    public struct Configuration: Sendable {
        /// How often the policy is checked. Kafka: `log.flush.scheduler.interval.ms` (Kafka's default is
        /// unlimited; Fjord checks every second so `flush.ms` is honoured). Default 1 s.
        public var interval: Duration = .seconds(1)
        /// How often the offset checkpoints are written even without a flush.
        /// Kafka: `log.flush.offset.checkpoint.interval.ms`. Default 60 s.
        public var checkpointInterval: Duration = .seconds(60)

        public init() {}
    }

    public let manager: LogManager
    public let configuration: Configuration
    private let threadPool: NIOThreadPool
    private let clock: any StorageClock
    private let sleep: StorageSleep
    private let logger: Logger
    /// When the offset checkpoints were last written (ms), shared by copies of the service value.
    private let lastCheckpointMs = NIOLockedValueBox<Int64?>(nil)

    public init(
        manager: LogManager, configuration: Configuration = Configuration(), threadPool: NIOThreadPool = .singleton,
        clock: any StorageClock = SystemStorageClock(), sleep: @escaping StorageSleep = systemStorageSleep,
        logger: Logger = Logger(label: "fjord.storage.flusher")
    ) {
        self.manager = manager
        self.configuration = configuration
        self.threadPool = threadPool
        self.clock = clock
        self.sleep = sleep
        self.logger = logger
    }

    public func run() async throws {
        try await runPeriodically(every: configuration.interval, sleep: sleep) {
            do {
                try await flushDue()
            } catch {
                logger.error("flush pass failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One pass: fsyncs the logs that are due and checkpoints. Returns the partitions flushed.
    @discardableResult
    public func flushDue() async throws -> [TopicPartition] {
        let manager = self.manager
        let now = clock.nowMilliseconds()
        let intervalMs = configuration.checkpointInterval.milliseconds
        let checkpointDue = lastCheckpointMs.withLockedValue { last in
            guard let previous = last, now - previous < intervalMs else {
                last = now
                return true
            }
            return false
        }
        let logger = self.logger
        return try await threadPool.runIfActive { () throws -> [TopicPartition] in
            var flushed = [TopicPartition]()
            var syncedRolls = false
            for (topicPartition, log) in manager.allLogs {
                do {
                    if log.isFlushDue(now: now) {
                        try log.flush()
                        flushed.append(topicPartition)
                    } else if try log.flushRolledSegments() {
                        syncedRolls = true
                    }
                } catch {
                    logger.error("flush failed", metadata: ["partition": "\(topicPartition)", "error": "\(error)"])
                }
            }
            if !flushed.isEmpty || syncedRolls || checkpointDue { try manager.checkpoint() }
            return flushed.sorted()
        }
    }
}

extension Duration {
    /// Whole milliseconds (rounded down).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
