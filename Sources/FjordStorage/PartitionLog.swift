import FjordReplication
import Glibc
import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The log of one partition: an ordered list of segments in the folder `<topic>-<partition>/`.
///
/// Files of the folder: the segments (`LogSegment`: `<base offset, 20 digits>.log`, `.index`, `.timeindex`, and
/// `.txnindex` where a transaction aborted),
/// `leader-epoch-checkpoint` (`LeaderEpochCache`) and `partition.metadata` (the topic id, `PartitionMetadataFile`).
/// A segment being deleted carries a `.deleted` suffix; leftovers of those and of `.tmp` files are removed at open.
/// Compaction (`LogCleaner`) writes `<base>.log.cleaned`, renames it `<base>.log.swap` once fsynced, then swaps it
/// in (`replaceSegment`); at open a `.cleaned` leftover is deleted and a `.swap` one completed (`SegmentLoader`).
///
/// Concurrency: every change (append, roll, truncation, retention, log-start move, flush bookkeeping, close) runs
/// holding the writer lock — `writer`, whose `WriterState` is what only writers change (configuration, leader
/// epochs, flush bookkeeping, recovery point, pending deletions) — so appends are serialized; it is held across
/// the append's I/O. Reads and lookups do not take it: they take a snapshot of the published segment list and log
/// start offset (`published`, held for a copy), and each segment publishes its size and next offset only after the
/// bytes are written, so a read sees complete batches up to the published end while an append is writing.
/// Truncation rewrites bytes in place, so it excludes readers (`truncationLock`). Deleted segments stay readable
/// until `file.delete.delay.ms` has passed. Lock order: `writer`, then `truncationLock`, then `published`, then a
/// segment's lock (docs/ARCHITECTURE.md, "Threads and ownership").
///
/// Nothing here fsyncs on its own: `flush()` is for a thread that may block (`LogFlusher`, roll and shutdown),
/// never an event loop.
public final class PartitionLog: Sendable {
    /// What only the log's writer changes, behind the writer lock (held across appends, rolls and truncations).
    struct WriterState: Sendable {
        var configuration: LogConfiguration
        var epochs: LeaderEpochCache
        var unflushedMessages: Int64 = 0
        var firstUnflushedAppendMs: Int64?
        var flushRequested = false
        /// Offsets below this are on disk (fsynced).
        var recoveryPoint: Int64
        var pendingDeletions: [(dueMs: Int64, segment: LogSegment)] = []
        var isClosed = false
    }

    /// What readers snapshot: the segments, oldest first, and the log start offset. Replaced by the writer (holding
    /// the writer lock too); held only to copy or replace it.
    struct Published: Sendable {
        var segments: [LogSegment]
        var logStartOffset: Int64
    }

    public let topicPartition: TopicPartition
    public let directory: String
    public let topicID: KafkaUUID
    let clock: any StorageClock
    let logger: Logger
    let fileCache: SegmentFileCache
    /// The writer lock and what only writers change.
    let writer: NIOLockedValueBox<WriterState>
    /// The segment list and log start offset.
    let published: NIOLockedValueBox<Published>
    /// The leader epochs as last written to `leader-epoch-checkpoint` (`LeaderEpochCache.published`): read without
    /// the writer lock.
    let epochHistory: NIOLockedValueBox<LeaderEpochHistory>
    /// Shared by reads, exclusive for truncation (bytes rewritten in place).
    let truncationLock = ReadWriteLock()

    /// What the last open found and did, for logs and tests.
    public let recoveryReport: RecoveryReport

    /// The segments, oldest first (a snapshot). Set only by the writer, holding the writer lock.
    var segments: [LogSegment] {
        get { published.withLockedValue { $0.segments } }
        set { published.withLockedValue { $0.segments = newValue } }
    }

    /// Set only by the writer, holding the writer lock.
    var logStartOffsetStorage: Int64 {
        get { published.withLockedValue { $0.logStartOffset } }
        set { published.withLockedValue { $0.logStartOffset = newValue } }
    }

    /// The active segment (the last one).
    var activeSegment: LogSegment { published.withLockedValue { $0.segments.last! } }

    public var configuration: LogConfiguration {
        get { writer.withLockedValue { $0.configuration } }
        set { writer.withLockedValue { $0.configuration = newValue } }
    }

    /// The first offset still in the log.
    public var logStartOffset: Int64 { logStartOffsetStorage }
    /// The offset the next appended record gets (published: every batch below it is complete on disk).
    public var logEndOffset: Int64 { activeSegment.nextOffset }
    /// Offsets below this have been fsynced.
    public var recoveryPoint: Int64 { writer.withLockedValue { $0.recoveryPoint } }
    /// Bytes of all segments.
    public var sizeInBytes: Int64 { segments.reduce(0) { $0 + $1.size } }
    public var segmentCount: Int { published.withLockedValue { $0.segments.count } }
    public var baseOffsets: [Int64] { segments.map(\.baseOffset) }
    /// The newest leader epoch written to the log, -1 if none.
    public var latestEpoch: Int32 { epochHistory.withLockedValue { $0.latestEpoch ?? -1 } }
    /// How many segments have their indexes in memory (sealed segments load on first use).
    public var loadedSegmentCount: Int { segments.filter(\.isIndexLoaded).count }

    /// Opens the partition folder (creating it for a new partition). After an unclean shutdown, every segment
    /// from the one holding `recoveryPoint` on is re-read and cut at its last good batch (`LogSegment.recover`);
    /// later segments are dropped if one had to be cut. Sealed segments below are opened lazily (their files are
    /// not read until used); the active segment is loaded, and recovered if its indexes or tail do not check out.
    public init(
        directory: String, topicPartition: TopicPartition, topicID: KafkaUUID, configuration: LogConfiguration,
        clock: any StorageClock = SystemStorageClock(), cleanShutdown: Bool = true, recoveryPoint: Int64 = 0,
        logStartOffset: Int64 = 0, logger: Logger = Logger(label: "fjord.storage"),
        fileCache: SegmentFileCache = .shared
    ) throws(LogError) {
        self.topicPartition = topicPartition
        self.directory = directory
        self.clock = clock
        self.logger = logger
        self.fileCache = fileCache
        try Self.createDirectory(directory)
        self.topicID = try PartitionMetadataFile.loadOrCreate(directory: directory, topicID: topicID)
        var epochs = try LeaderEpochCache(path: directory + "/leader-epoch-checkpoint")
        var report = RecoveryReport(topicPartition: topicPartition)
        let loader = SegmentLoader(
            directory: directory, configuration: configuration, now: clock.nowMilliseconds(), cache: fileCache,
            cleanShutdown: cleanShutdown, recoveryPoint: recoveryPoint
        )
        var segments = try loader.load(report: &report)
        if segments.isEmpty {
            segments = [
                try LogSegment.create(
                    directory: directory, baseOffset: logStartOffset, configuration: configuration,
                    createdAtMs: clock.nowMilliseconds(), cache: fileCache
                )
            ]
        }
        try segments.last!.preallocateIndexes()
        let end = segments.last!.nextOffset
        published = NIOLockedValueBox(
            Published(
                segments: segments, logStartOffset: min(max(logStartOffset, segments.first!.baseOffset), end)
            ))
        try epochs.truncate(fromEnd: end)
        for start in report.recoveredEpochStarts where start.startOffset < end {
            try epochs.noteAppended(epoch: start.epoch, startOffset: start.startOffset)
        }
        epochHistory = epochs.published
        writer = NIOLockedValueBox(
            WriterState(
                configuration: configuration, epochs: epochs,
                recoveryPoint: cleanShutdown ? end : min(recoveryPoint, end)
            ))
        report.logEndOffset = end
        recoveryReport = report
        if report.recoveredSegments > 0 || report.bytesTruncated > 0 || report.segmentsDropped > 0 {
            logger.warning("recovered log", metadata: report.metadata)
        }
    }

    /// Runs `body` holding the writer lock, with what only writers change.
    func locked<T>(_ body: (inout WriterState) throws(LogError) -> T) throws(LogError) -> T {
        try writer.withLockedValueTyped(body)
    }

    /// Runs a read-side `body` (no writer lock) that truncation may not interleave with.
    func reading<T>(_ body: () throws(LogError) -> T) throws(LogError) -> T {
        try truncationLock.withReadLock { () throws(LogError) -> T in try body() }
    }

    private static func createDirectory(_ path: String) throws(LogError) {
        if !SegmentFile.exists(path), mkdir(path, 0o755) != 0, errno != EEXIST {
            throw LogError(.io, "mkdir \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func listDirectory(_ path: String) throws(LogError) -> [String] {
        guard let handle = opendir(path) else {
            throw LogError(.io, "opendir \(path): \(String(cString: strerror(errno)))")
        }
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
    /// Segments re-read batch by batch (past the recovery point, or whose active indexes did not check out).
    public var recoveredSegments = 0
    /// Bytes cut from the tail of recovered segments (torn or corrupt batches).
    public var bytesTruncated: Int64 = 0
    /// Whole segments dropped because an earlier one had to be cut.
    public var segmentsDropped = 0
    /// Sealed segments opened lazily (nothing read).
    public var lazySegments = 0
    public var logEndOffset: Int64 = 0
    /// Where each newer leader epoch starts in the batches recovery re-read, in offset order: added to the
    /// leader-epoch checkpoint when it lacks them (Kafka's recovery assigns them the same way).
    var recoveredEpochStarts: [LeaderEpochHistory.Entry] = []

    var metadata: Logger.Metadata {
        [
            "partition": "\(topicPartition)", "segments.recovered": "\(recoveredSegments)",
            "bytes.cut": "\(bytesTruncated)", "segments.dropped": "\(segmentsDropped)",
            "log.end.offset": "\(logEndOffset)", "segments.lazy": "\(lazySegments)",
        ]
    }
}
