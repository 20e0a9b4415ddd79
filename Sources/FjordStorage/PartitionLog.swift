import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The log of one partition: an ordered list of segments in the folder `<topic>-<partition>/`.
///
/// Files of the folder: the segments (`LogSegment`), `leader-epoch-checkpoint` (`LeaderEpochCache`) and
/// `partition.metadata` (the topic id, `PartitionMetadataFile`). Appends are serialized by the log's lock;
/// reads take the same lock only to locate bytes, and return file slices of complete batches below the bound
/// they are given, so the bytes can be sent with `sendfile` after the lock is released.
///
/// Nothing here fsyncs on its own: `flush()` is for a thread that may block (the broker's flusher, roll and
/// shutdown), never an event loop.
public final class PartitionLog: @unchecked Sendable {
    public let topicPartition: TopicPartition
    public let directory: String
    public let topicID: KafkaUUID
    let clock: any StorageClock
    let logger: Logger
    let lock = NIOLock()

    // Guarded by `lock`.
    var configurationStorage: LogConfiguration
    var segments: [LogSegment]
    var logStartOffsetStorage: Int64
    var epochs: LeaderEpochCache
    var unflushedMessages: Int64 = 0
    var firstUnflushedAppendMs: Int64?
    /// Offsets below this are on disk (fsynced).
    var recoveryPointStorage: Int64
    var pendingDeletions: [(dueMs: Int64, segment: LogSegment)] = []
    var isClosed = false

    /// What the last open found and did, for logs and tests.
    public private(set) var recoveryReport: RecoveryReport

    public var configuration: LogConfiguration {
        get { lock.withLock { configurationStorage } }
        set { lock.withLock { configurationStorage = newValue } }
    }

    /// The first offset still in the log.
    public var logStartOffset: Int64 { lock.withLock { logStartOffsetStorage } }
    /// The offset the next appended record gets.
    public var logEndOffset: Int64 { lock.withLock { segments.last!.nextOffset } }
    /// Offsets below this have been fsynced.
    public var recoveryPoint: Int64 { lock.withLock { recoveryPointStorage } }
    /// Bytes of all segments.
    public var sizeInBytes: Int64 { lock.withLock { segments.reduce(0) { $0 + $1.size } } }
    public var segmentCount: Int { lock.withLock { segments.count } }
    public var baseOffsets: [Int64] { lock.withLock { segments.map(\.baseOffset) } }
    /// The newest leader epoch written to the log, -1 if none.
    public var latestEpoch: Int32 { lock.withLock { epochs.latestEpoch ?? -1 } }

    /// Opens the partition folder (creating it for a new partition). After an unclean shutdown, every segment
    /// from the one holding `recoveryPoint` on is re-read and cut at its last good batch (`LogSegment.recover`).
    public init(
        directory: String, topicPartition: TopicPartition, topicID: KafkaUUID, configuration: LogConfiguration,
        clock: any StorageClock = SystemStorageClock(), cleanShutdown: Bool = true, recoveryPoint: Int64 = 0,
        logStartOffset: Int64 = 0, logger: Logger = Logger(label: "fjord.storage")
    ) throws(LogError) {
        self.topicPartition = topicPartition
        self.directory = directory
        self.clock = clock
        self.logger = logger
        configurationStorage = configuration
        try Self.createDirectory(directory)
        self.topicID = try PartitionMetadataFile.loadOrCreate(directory: directory, topicID: topicID)
        epochs = try LeaderEpochCache(path: directory + "/leader-epoch-checkpoint")
        var report = RecoveryReport(topicPartition: topicPartition)
        let loaded = try Self.loadSegments(
            directory: directory, configuration: configuration, clock: clock, cleanShutdown: cleanShutdown,
            recoveryPoint: recoveryPoint, report: &report
        )
        var segments = loaded
        if segments.isEmpty {
            segments = [try LogSegment(
                directory: directory, baseOffset: logStartOffset, configuration: configuration,
                createdAtMs: clock.nowMilliseconds(), rebuild: false
            )]
        }
        try segments.last!.preallocateIndexes()
        self.segments = segments
        logStartOffsetStorage = max(logStartOffset, segments.first!.baseOffset)
        recoveryPointStorage = cleanShutdown ? segments.last!.nextOffset : min(recoveryPoint, segments.last!.nextOffset)
        try epochs.truncate(fromEnd: segments.last!.nextOffset)
        report.logEndOffset = segments.last!.nextOffset
        recoveryReport = report
        if report.recoveredSegments > 0 || report.bytesTruncated > 0 || report.segmentsDropped > 0 {
            logger.warning("recovered log", metadata: report.metadata)
        }
    }

    /// Runs `body` holding the log's lock, keeping its typed error (NIOLock's `withLock` rethrows untyped).
    func locked<T>(_ body: () throws(LogError) -> T) throws(LogError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private static func createDirectory(_ path: String) throws(LogError) {
        if !SegmentFile.exists(path), mkdir(path, 0o755) != 0, errno != EEXIST {
            throw LogError(.io, "mkdir \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Opens every segment of the folder; removes leftovers of interrupted deletions and temp files.
    private static func loadSegments(
        directory: String, configuration: LogConfiguration, clock: any StorageClock, cleanShutdown: Bool,
        recoveryPoint: Int64, report: inout RecoveryReport
    ) throws(LogError) -> [LogSegment] {
        var baseOffsets = [Int64]()
        for name in try listDirectory(directory) {
            if name.hasSuffix(".deleted") || name.hasSuffix(".tmp") {
                SegmentFile.remove(directory + "/" + name)
            } else if name.hasSuffix(".log"), name.count == 24, let base = Int64(name.prefix(20)) {
                baseOffsets.append(base)
            }
        }
        baseOffsets.sort()
        var segments = [LogSegment]()
        var cut = false
        for (index, base) in baseOffsets.enumerated() {
            if cut {
                // Everything after a segment that recovery had to cut is unreachable: drop it.
                let orphan = try LogSegment(directory: directory, baseOffset: base, configuration: configuration, createdAtMs: 0, rebuild: true)
                try orphan.markDeleted()
                orphan.removeDeletedFiles()
                report.segmentsDropped += 1
                continue
            }
            let nextBase = index + 1 < baseOffsets.count ? baseOffsets[index + 1] : Int64.max
            let indexMissing = !SegmentFile.exists(directory + "/" + LogSegment.fileName(base, ".index"))
                || !SegmentFile.exists(directory + "/" + LogSegment.fileName(base, ".timeindex"))
            let mustRecover = !cleanShutdown && nextBase > recoveryPoint
            let now = clock.nowMilliseconds()
            var segment: LogSegment
            if mustRecover || indexMissing {
                segment = try LogSegment(directory: directory, baseOffset: base, configuration: configuration, createdAtMs: now, rebuild: true)
                let removed = try segment.recover()
                report.recoveredSegments += 1
                report.bytesTruncated += removed
                cut = removed > 0 && index + 1 < baseOffsets.count
            } else {
                do {
                    segment = try LogSegment(directory: directory, baseOffset: base, configuration: configuration, createdAtMs: now, rebuild: false)
                } catch {
                    // An index or tail that does not agree with the log is never trusted: rebuild from the log.
                    segment = try LogSegment(directory: directory, baseOffset: base, configuration: configuration, createdAtMs: now, rebuild: true)
                    let removed = try segment.recover()
                    report.recoveredSegments += 1
                    report.bytesTruncated += removed
                    cut = removed > 0 && index + 1 < baseOffsets.count
                }
            }
            if index + 1 < baseOffsets.count { try segment.seal() }
            segments.append(segment)
        }
        return segments
    }

    static func listDirectory(_ path: String) throws(LogError) -> [String] {
        guard let handle = opendir(path) else { throw LogError(.io, "opendir \(path): \(String(cString: strerror(errno)))") }
        defer { closedir(handle) }
        var names = [String]()
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}

/// What opening a log found: the segments re-read after an unclean shutdown and what was cut from them.
public struct RecoveryReport: Sendable, Equatable {
    public var topicPartition: TopicPartition
    public var recoveredSegments = 0
    public var bytesTruncated: Int64 = 0
    public var segmentsDropped = 0
    public var logEndOffset: Int64 = 0

    var metadata: Logger.Metadata {
        [
            "partition": "\(topicPartition)", "segments.recovered": "\(recoveredSegments)",
            "bytes.cut": "\(bytesTruncated)", "segments.dropped": "\(segmentsDropped)",
            "log.end.offset": "\(logEndOffset)",
        ]
    }
}

#if canImport(Glibc)
import Glibc
#endif
