import KafkaProtocol
import Logging
import NIOPosix
import ServiceLifecycle

/// Runs the log cleaner over every compacted log of a `LogManager` (a `Service`; STYLE.md §10): every `interval`
/// (Kafka: `log.cleaner.backoff.ms`) a pass cleans the logs that are due (`LogManager.cleanCompactedLogs`). The
/// pass runs on `threadPool`, never on an event loop; the sleep is injectable so tests do not wait, and the time
/// comes from each log's clock.
public struct LogCleanerService: Service {
    public struct Configuration: Sendable {
        /// Whether the cleaner runs at all. Kafka: `log.cleaner.enable`. Default true.
        public var isEnabled = true
        /// Time between passes. Kafka: `log.cleaner.backoff.ms`. Default 15000.
        public var interval: Duration = .milliseconds(15_000)
        /// The pass's own bounds (keys indexed per pass).
        public var cleaner = LogCleaner.Configuration()

        public init() {}
    }

    /// The highest offset the cleaner may reach in a partition (its last stable offset), or nil for the log end.
    public typealias UpperBound = @Sendable (TopicPartition) -> Int64?

    public let manager: LogManager
    public let configuration: Configuration
    private let upperBound: UpperBound
    private let threadPool: NIOThreadPool
    private let sleep: StorageSleep
    private let logger: Logger

    public init(
        manager: LogManager, configuration: Configuration = Configuration(),
        upperBound: @escaping UpperBound = { _ in nil },
        threadPool: NIOThreadPool = .singleton, sleep: @escaping StorageSleep = systemStorageSleep,
        logger: Logger = Logger(label: "fjord.storage.cleaner")
    ) {
        self.manager = manager
        self.configuration = configuration
        self.upperBound = upperBound
        self.threadPool = threadPool
        self.sleep = sleep
        self.logger = logger
    }

    public func run() async throws {
        guard configuration.isEnabled else { return }
        try await runPeriodically(every: configuration.interval, sleep: sleep) {
            do {
                try await runPass()
            } catch {
                logger.error("log cleaner pass failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One pass. Returns what each cleaned log did.
    @discardableResult
    public func runPass() async throws -> [TopicPartition: LogCleaner.CleanResult] {
        let manager = self.manager
        let cleaner = LogCleaner(configuration: configuration.cleaner)
        let upperBound = self.upperBound
        return try await threadPool.runIfActive {
            try manager.cleanCompactedLogs(with: cleaner, upperBound: upperBound)
        }
    }
}
