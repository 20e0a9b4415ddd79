import NIOConcurrencyHelpers

/// One segment of a partition log: `<base offset, 20 digits>.log` with its `.index` and `.timeindex`, and a
/// `.txnindex` once a transaction aborts in it.
///
/// The `.log` holds record batches (v2) exactly as they travel on the wire, offsets already assigned, one after
/// another from byte 0. The offset and time indexes are sparse (see `OffsetIndex`, `TimeIndex`); the transaction
/// index lists aborted transactions (`TransactionIndex`) and is loaded separately, on first use.
///
/// Loading (`LogSegment+Loading`): the active segment is loaded when the log opens (indexes read, the batches
/// after the last index entry scanned). A sealed segment is opened lazily: its next offset is the next segment's
/// base offset and its size is the file's, so nothing is read until a read, lookup, truncation or retention pass
/// needs its indexes; then they are read and checked, and rebuilt from the log if they do not agree with it. After
/// an unclean shutdown every segment past the recovery point is re-read by `recover()`.
///
/// Concurrency: mutations (`LogSegment+Appending`: append, truncate, seal; and recover) come from the log's single
/// writer; readers (`LogSegment+Reading`) may call `read`/`findBatch` at the same time. `state`
/// (`LogSegmentState`: the published size and next offset, and the indexes) is behind the segment's lock, held
/// for memory work and small index writes — and, when a segment is loaded, recovered or truncated, for that
/// whole pass. Reads of the `.log` run outside it and never look past the published size, so they see only
/// complete batches.
final class LogSegment: Sendable {
    let baseOffset: Int64
    let directory: String
    /// The `.log` file.
    let log: SegmentFile
    /// The index files (their entries are in `state`), kept here too so that fsync, renames and closing need no
    /// lock.
    let offsetIndexFile: SegmentFile
    let timeIndexFile: SegmentFile
    let transactionIndexFile: SegmentFile
    /// The configuration the segment was opened with (its index sizes and `index.interval.bytes`).
    let configuration: LogConfiguration
    /// When the segment was created or opened (ms), for `segment.ms` while it has no timestamped batch.
    let createdAtMs: Int64
    /// The published state and the indexes, behind the segment's lock.
    let state: NIOLockedValueBox<LogSegmentState>

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    var logPath: String { log.path }

    /// Use `create`, `open` or `lazy` (`LogSegment+Loading`).
    init(
        directory: String, baseOffset: Int64, configuration: LogConfiguration, createdAtMs: Int64,
        cache: SegmentFileCache, log: SegmentFile, nextOffset: Int64, size: Int64?, loaded: Bool
    ) {
        self.directory = directory
        self.baseOffset = baseOffset
        self.configuration = configuration
        self.createdAtMs = createdAtMs
        self.log = log
        let path = { (suffix: String) in directory + "/" + Self.fileName(baseOffset, suffix) }
        offsetIndexFile = SegmentFile(lazyPath: path(".index"), cache: cache, createIfMissing: true)
        timeIndexFile = SegmentFile(lazyPath: path(".timeindex"), cache: cache, createIfMissing: true)
        transactionIndexFile = SegmentFile(lazyPath: path(".txnindex"), cache: cache, createIfMissing: true)
        state = NIOLockedValueBox(
            LogSegmentState(
                size: size, nextOffset: nextOffset, isLoaded: loaded,
                offsetIndex: OffsetIndex(
                    file: offsetIndexFile, baseOffset: baseOffset, maximumBytes: configuration.segmentIndexBytesMax
                ),
                timeIndex: TimeIndex(
                    file: timeIndexFile, baseOffset: baseOffset, maximumBytes: configuration.segmentIndexBytesMax
                ),
                transactionIndex: TransactionIndex(file: transactionIndexFile)
            ))
    }

    // MARK: Published state

    /// Bytes in the `.log` file (complete batches only).
    var size: Int64 {
        state.withLockedValue { state in
            if let size = state.size { return size }
            let size = SegmentFile.sizeOfFile(log.path) ?? 0
            state.size = size
            return size
        }
    }

    var isEmpty: Bool { size == 0 }

    /// The offset after the last batch (the base offset while empty).
    var nextOffset: Int64 { state.withLockedValue { $0.nextOffset } }

    /// Whether the indexes are in memory (false for a sealed segment nobody has used since the log opened).
    var isIndexLoaded: Bool { state.withLockedValue { $0.isLoaded } }

    // MARK: Files

    func sync() throws(LogError) {
        try log.sync()
        if state.withLockedValue({ $0.isLoaded }) {
            try offsetIndexFile.sync()
            try timeIndexFile.sync()
        }
        if state.withLockedValue({ $0.transactionIndex.hasEntries }) { try transactionIndexFile.sync() }
    }

    /// Renames the files to `*.deleted`; `removeDeletedFiles` unlinks them later. Readers holding the segment
    /// keep reading until then. A segment replaced by its cleaned copy keeps its `.txnindex` in place: cleaning
    /// keeps every transaction marker, so the copy's aborted transactions are the same entries.
    func markDeleted(keepingTransactionIndex: Bool = false) throws(LogError) {
        let files =
            keepingTransactionIndex
            ? [log, offsetIndexFile, timeIndexFile] : [log, offsetIndexFile, timeIndexFile, transactionIndexFile]
        for file in files {
            let path = file.path
            if SegmentFile.exists(path) { try file.rename(to: path + ".deleted") }
        }
    }

    /// Unlinks the `.deleted` files and closes their descriptors (freeing the disk space).
    func removeDeletedFiles() {
        for file in [log, offsetIndexFile, timeIndexFile, transactionIndexFile] {
            let path = file.path
            if path.hasSuffix(".deleted") { SegmentFile.remove(path) }
            file.closeDescriptor(force: true)
        }
    }
}
