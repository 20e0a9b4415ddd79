import Glibc
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers

/// The partition logs of a node's data directories (`log.dirs`).
///
/// Files it owns in each data directory (Kafka's formats, written atomically, see `CheckpointFile`):
/// `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`, `cleaner-offset-checkpoint` (per
/// partition; in `LogManager+Cleaning`) and `replication-offset-checkpoint` (`LogManager+HighWatermarks`), and the `.kafka_cleanshutdown` marker, written last by a clean
/// shutdown and removed at start-up. Without the marker, every partition is recovered from its recovery point. A
/// deleted partition's folder is renamed to `<topic>-<partition>.<id>-delete` and removed in the background (and at
/// the next start if still there).
///
/// Its table of logs (`state`) is behind one lock, held to look a log up or change the table — and across the
/// creation of a new partition's folder and files (`createLog`), so one partition never gets two logs; never
/// across any other I/O.
public final class LogManager: Sendable {
    /// The logs of this node and the data directory of each.
    struct State: Sendable {
        var logs: [TopicPartition: PartitionLog] = [:]
        var directoryOf: [TopicPartition: String] = [:]
        /// Whether the previous run ended cleanly (read at `loadExisting`).
        var previousShutdownWasClean = true
        /// Where `replication-offset-checkpoint` gets each partition's high watermark (`LogManager+HighWatermarks`).
        var highWatermarkSource: (@Sendable () -> [TopicPartition: Int64])?
    }

    public static let cleanShutdownMarker = ".kafka_cleanshutdown"
    public static let recoveryPointCheckpoint = "recovery-point-offset-checkpoint"
    public static let logStartCheckpoint = "log-start-offset-checkpoint"

    public let dataDirectories: [String]
    private let clock: any StorageClock
    let logger: Logger
    let state = NIOLockedValueBox(State())

    /// Whether the previous run ended cleanly (read at `loadExisting`).
    public var previousShutdownWasClean: Bool { state.withLockedValue { $0.previousShutdownWasClean } }

    /// Bounds the open descriptors of all its logs' segment files.
    public let fileCache: SegmentFileCache

    public init(
        dataDirectories: [String], clock: any StorageClock = SystemStorageClock(),
        logger: Logger = Logger(label: "fjord.storage"), fileCache: SegmentFileCache = .shared
    ) {
        precondition(!dataDirectories.isEmpty, "at least one data directory")
        self.dataDirectories = dataDirectories
        self.clock = clock
        self.logger = logger
        self.fileCache = fileCache
    }

    /// Opens every partition folder found; `configuration` gives each partition its log configuration.
    /// Returns the logs opened.
    @discardableResult
    public func loadExisting(configuration: (TopicPartition) -> LogConfiguration) throws(LogError) -> [TopicPartition:
        PartitionLog]
    {
        var clean = true
        for dataDirectory in dataDirectories {
            let marker = dataDirectory + "/" + Self.cleanShutdownMarker
            let wasClean = SegmentFile.exists(marker)
            clean = clean && wasClean
            let recoveryPoints = try CheckpointFile.readOffsets(dataDirectory + "/" + Self.recoveryPointCheckpoint)
            let logStarts = try CheckpointFile.readOffsets(dataDirectory + "/" + Self.logStartCheckpoint)
            for name in try PartitionLog.listDirectory(dataDirectory).sorted() {
                let path = dataDirectory + "/" + name
                if name.hasSuffix("-delete") {
                    Self.removeTree(path)
                    continue
                }
                guard let topicPartition = TopicPartition(directoryName: name), Self.isDirectory(path) else { continue }
                let log = try PartitionLog(
                    directory: path, topicPartition: topicPartition, topicID: .zero,
                    configuration: configuration(topicPartition), clock: clock, cleanShutdown: wasClean,
                    recoveryPoint: recoveryPoints[topicPartition] ?? 0, logStartOffset: logStarts[topicPartition] ?? 0,
                    logger: logger, fileCache: fileCache
                )
                state.withLockedValue { state in
                    state.logs[topicPartition] = log
                    state.directoryOf[topicPartition] = dataDirectory
                }
            }
            // The marker describes the run that ended; this run is unclean until it shuts down cleanly.
            SegmentFile.remove(marker)
        }
        return state.withLockedValue { state in
            state.previousShutdownWasClean = clean
            return state.logs
        }
    }

    public func log(for topicPartition: TopicPartition) -> PartitionLog? {
        state.withLockedValue { $0.logs[topicPartition] }
    }

    public var allLogs: [TopicPartition: PartitionLog] { state.withLockedValue { $0.logs } }

    /// The logs of each data directory (every directory present, possibly with none).
    func logsByDataDirectory() -> [String: [TopicPartition: PartitionLog]] {
        let snapshot = state.withLockedValue { ($0.logs, $0.directoryOf) }
        var result = [String: [TopicPartition: PartitionLog]]()
        for dataDirectory in dataDirectories { result[dataDirectory] = [:] }
        for (topicPartition, log) in snapshot.0 {
            if let dataDirectory = snapshot.1[topicPartition] { result[dataDirectory]?[topicPartition] = log }
        }
        return result
    }

    /// Creates the partition's log (or returns the existing one) in the data directory with the fewest partitions.
    public func createLog(_ topicPartition: TopicPartition, topicID: KafkaUUID, configuration: LogConfiguration)
        throws(LogError) -> PartitionLog
    {
        try state.withLockedValueTyped { (state) throws(LogError) -> PartitionLog in
            if let existing = state.logs[topicPartition] { return existing }
            // Counting the logs per directory walks every log: skipped with one directory, where it would make
            // creating n partitions quadratic (100,000 partitions at start-up or in CreateTopics).
            let dataDirectory: String
            if dataDirectories.count == 1 {
                dataDirectory = dataDirectories[0]
            } else {
                let counts = Dictionary(grouping: state.directoryOf.values, by: { $0 }).mapValues(\.count)
                dataDirectory = dataDirectories.min { (counts[$0] ?? 0) < (counts[$1] ?? 0) }!
            }
            let log = try PartitionLog(
                directory: dataDirectory + "/" + topicPartition.directoryName, topicPartition: topicPartition,
                topicID: topicID, configuration: configuration, clock: clock, logger: logger, fileCache: fileCache
            )
            state.logs[topicPartition] = log
            state.directoryOf[topicPartition] = dataDirectory
            return log
        }
    }

    /// Closes the partition's log and renames its folder for deletion; the files are removed by
    /// `removeDeletedDirectories()` (the broker runs it in the background) or at the next start.
    public func deleteLog(_ topicPartition: TopicPartition) throws(LogError) {
        let (log, dataDirectory) = state.withLockedValue {
            ($0.logs.removeValue(forKey: topicPartition), $0.directoryOf.removeValue(forKey: topicPartition))
        }
        guard let log, let dataDirectory else { return }
        try? log.close()
        let renamed =
            dataDirectory + "/" + topicPartition.directoryName + "." + String(KafkaUUID.random().low, radix: 16)
            + "-delete"
        try SegmentFile.rename(log.directory, to: renamed)
    }

    /// Removes the folders of deleted partitions. Blocking: run it off the event loops.
    public func removeDeletedDirectories() throws(LogError) {
        for dataDirectory in dataDirectories {
            for name in try PartitionLog.listDirectory(dataDirectory) where name.hasSuffix("-delete") {
                Self.removeTree(dataDirectory + "/" + name)
            }
        }
    }

    /// Writes both offset checkpoints of every data directory.
    public func checkpoint() throws(LogError) {
        let snapshot = state.withLockedValue { ($0.logs, $0.directoryOf) }
        for dataDirectory in dataDirectories {
            var recoveryPoints = [TopicPartition: Int64]()
            var logStarts = [TopicPartition: Int64]()
            for (topicPartition, log) in snapshot.0 where snapshot.1[topicPartition] == dataDirectory {
                recoveryPoints[topicPartition] = log.recoveryPoint
                logStarts[topicPartition] = log.logStartOffset
            }
            try CheckpointFile.writeOffsets(recoveryPoints, to: dataDirectory + "/" + Self.recoveryPointCheckpoint)
            try CheckpointFile.writeOffsets(logStarts, to: dataDirectory + "/" + Self.logStartCheckpoint)
        }
    }

    /// fsyncs every log and checkpoints the recovery points. Blocking.
    public func flushAll() throws(LogError) {
        for log in state.withLockedValue({ Array($0.logs.values) }) { try log.flush() }
        try checkpoint()
    }

    /// Runs a retention pass over every log. Returns the segments deleted.
    @discardableResult
    public func applyRetention() throws(LogError) -> Int {
        var deleted = 0
        for log in state.withLockedValue({ Array($0.logs.values) }) {
            do {
                deleted += try log.applyRetention()
            } catch {
                // One failing partition does not stop retention of the others.
                logger.error("retention failed", metadata: ["partition": "\(log.topicPartition)", "error": "\(error)"])
            }
        }
        if deleted > 0 { try checkpoint() }
        return deleted
    }

    /// Flushes and closes every log, writes the checkpoints, then the clean-shutdown marker. Blocking.
    public func shutdown() throws(LogError) {
        let all = state.withLockedValue { Array($0.logs.values) }
        for log in all { try log.close() }
        try checkpoint()
        try checkpointHighWatermarks()
        for dataDirectory in dataDirectories {
            try CheckpointFile.writeAtomically("", to: dataDirectory + "/" + Self.cleanShutdownMarker)
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// Removes a folder and the files in it (partition folders are flat).
    static func removeTree(_ path: String) {
        if let names = try? PartitionLog.listDirectory(path) {
            for name in names { unlink(path + "/" + name) }
        }
        rmdir(path)
    }
}
