import Logging
import NIOPosix
import ServiceLifecycle

/// Runs retention over every log of a `LogManager` (a `Service`; STYLE.md §10): every `interval` (Kafka:
/// `log.retention.check.interval.ms`, default 5 minutes) a pass deletes whole segments past each log's own
/// `retention.ms` / `retention.bytes` (per-topic overrides are the `LogConfiguration` each log was opened with),
/// removes `.deleted` files whose `file.delete.delay.ms` has passed, and removes the folders of deleted partitions.
/// The pass runs on `threadPool`, never on an event loop; the clock and the sleep are injectable so tests do not
/// wait.
public struct RetentionService: Service {
    public struct Configuration: Sendable {
        /// Time between passes. Kafka: `log.retention.check.interval.ms`. Default 300000 (5 minutes).
        public var interval: Duration = .milliseconds(300_000)

        public init() {}
    }

    public let manager: LogManager
    public let configuration: Configuration
    private let threadPool: NIOThreadPool
    private let sleep: StorageSleep
    private let logger: Logger

    public init(
        manager: LogManager, configuration: Configuration = Configuration(), threadPool: NIOThreadPool = .singleton,
        sleep: @escaping StorageSleep = systemStorageSleep, logger: Logger = Logger(label: "fjord.storage.retention")
    ) {
        self.manager = manager
        self.configuration = configuration
        self.threadPool = threadPool
        self.sleep = sleep
        self.logger = logger
    }

    public func run() async throws {
        try await runPeriodically(every: configuration.interval, sleep: sleep) {
            do {
                try await runPass()
            } catch {
                logger.error("retention pass failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One pass. Returns the number of segments deleted.
    @discardableResult
    public func runPass() async throws -> Int {
        let manager = self.manager
        return try await threadPool.runIfActive {
            let deleted = try manager.applyRetention()
            try manager.removeDeletedDirectories()
            return deleted
        }
    }
}
