import KafkaRecords
import NIOConcurrencyHelpers
import NIOCore

/// One segment of a partition log: `<base offset, 20 digits>.log` with its `.index` and `.timeindex`, and a
/// `.txnindex` once a transaction aborts in it.
///
/// The `.log` holds record batches (v2) exactly as they travel on the wire, offsets already assigned, one after
/// another from byte 0. The offset and time indexes are sparse (see `OffsetIndex`, `TimeIndex`); the transaction
/// index lists aborted transactions (`TransactionIndex`) and is loaded separately, on first use.
///
/// Loading: the active segment is loaded when the log opens (indexes read, the batches after the last index entry
/// scanned). A sealed segment is opened lazily: its next offset is the next segment's base offset and its size is
/// the file's, so nothing is read until a read, lookup, truncation or retention pass needs its indexes; then they
/// are read and checked, and rebuilt from the log if they do not agree with it. After an unclean shutdown every
/// segment past the recovery point is re-read by `recover()`.
///
/// Concurrency: mutations (append, truncate, seal, recover) come from the log's single writer; readers may call
/// `locate`/`read` at the same time. The segment's lock guards the published state (size, next offset, index
/// entries) and is held only for memory work and small index writes; reads of the `.log` run outside it and never
/// look past the published size, so they see only complete batches.
final class LogSegment: @unchecked Sendable {
    let baseOffset: Int64
    let directory: String
    let log: SegmentFile
    private let offsetIndex: OffsetIndex
    private let timeIndex: TimeIndex
    private let transactionIndex: TransactionIndex
    private let configuration: LogConfiguration
    private let lock = NIOLock()

    /// `lock.withLock` keeping the typed error.
    private func locked<T>(_ body: () throws(LogError) -> T) throws(LogError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // Guarded by `lock`.
    private var sizeStorage: Int64?
    private var nextOffsetStorage: Int64
    private var isLoaded: Bool
    private var largestTimestampStorage: Int64 = -1
    private var offsetOfLargestTimestampStorage: Int64 = -1
    private var bytesSinceLastIndexEntry = 0
    /// The first batch's max timestamp, which `segment.ms` counts from (as Kafka does); nil while unknown.
    private var rollingBasedTimestamp: Int64?
    /// When the segment was created or opened (ms), for `segment.ms` while it has no timestamped batch.
    let createdAtMs: Int64

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    var logPath: String { log.path }

    private init(
        directory: String, baseOffset: Int64, configuration: LogConfiguration, createdAtMs: Int64,
        cache: SegmentFileCache, log: SegmentFile, nextOffset: Int64, loaded: Bool
    ) {
        self.directory = directory
        self.baseOffset = baseOffset
        self.configuration = configuration
        self.createdAtMs = createdAtMs
        self.log = log
        let path = { (suffix: String) in directory + "/" + Self.fileName(baseOffset, suffix) }
        offsetIndex = OffsetIndex(
            file: SegmentFile(lazyPath: path(".index"), cache: cache, createIfMissing: true), baseOffset: baseOffset,
            maximumBytes: configuration.segmentIndexBytesMax
        )
        timeIndex = TimeIndex(
            file: SegmentFile(lazyPath: path(".timeindex"), cache: cache, createIfMissing: true), baseOffset: baseOffset,
            maximumBytes: configuration.segmentIndexBytesMax
        )
        transactionIndex = TransactionIndex(file: SegmentFile(lazyPath: path(".txnindex"), cache: cache, createIfMissing: true))
        nextOffsetStorage = nextOffset
        isLoaded = loaded
    }

    /// A new, empty segment: the three files are created (emptied if they exist); a stale `.txnindex` is removed.
    static func create(
        directory: String, baseOffset: Int64, configuration: LogConfiguration, createdAtMs: Int64, cache: SegmentFileCache
    ) throws(LogError) -> LogSegment {
        let log = try SegmentFile(path: directory + "/" + fileName(baseOffset, ".log"), create: true, cache: cache)
        try log.truncate(to: 0)
        for suffix in [".index", ".timeindex"] {
            try SegmentFile(path: directory + "/" + fileName(baseOffset, suffix), create: true, cache: cache).truncate(to: 0)
        }
        SegmentFile.remove(directory + "/" + fileName(baseOffset, ".txnindex"))
        let segment = LogSegment(
            directory: directory, baseOffset: baseOffset, configuration: configuration, createdAtMs: createdAtMs,
            cache: cache, log: log, nextOffset: baseOffset, loaded: true
        )
        segment.sizeStorage = 0
        return segment
    }

    /// An existing sealed segment whose files are read only when first needed; `nextOffset` is the next
    /// segment's base offset.
    static func lazy(
        directory: String, baseOffset: Int64, nextOffset: Int64, configuration: LogConfiguration, createdAtMs: Int64,
        cache: SegmentFileCache
    ) -> LogSegment {
        let log = SegmentFile(lazyPath: directory + "/" + fileName(baseOffset, ".log"), cache: cache)
        return LogSegment(
            directory: directory, baseOffset: baseOffset, configuration: configuration, createdAtMs: createdAtMs,
            cache: cache, log: log, nextOffset: nextOffset, loaded: false
        )
    }

    /// An existing segment opened to be written (the active one) or recovered: with `recover`, every batch is
    /// re-read (`recover()`, which returns the bytes cut); otherwise the indexes are loaded and the tail after the
    /// last index entry is scanned, and a mismatch throws `.corrupt` (the caller then recovers).
    static func open(
        directory: String, baseOffset: Int64, configuration: LogConfiguration, createdAtMs: Int64,
        cache: SegmentFileCache
    ) throws(LogError) -> LogSegment {
        let log = try SegmentFile(path: directory + "/" + fileName(baseOffset, ".log"), create: true, cache: cache)
        let segment = LogSegment(
            directory: directory, baseOffset: baseOffset, configuration: configuration, createdAtMs: createdAtMs,
            cache: cache, log: log, nextOffset: baseOffset, loaded: true
        )
        segment.sizeStorage = try log.size()
        return segment
    }

    // MARK: Published state

    /// Bytes in the `.log` file (complete batches only).
    var size: Int64 {
        lock.withLock {
            if let size = sizeStorage { return size }
            let size = SegmentFile.sizeOfFile(log.path) ?? 0
            sizeStorage = size
            return size
        }
    }

    var isEmpty: Bool { size == 0 }

    /// The offset after the last batch (the base offset while empty).
    var nextOffset: Int64 { lock.withLock { nextOffsetStorage } }

    /// Whether the indexes are in memory (false for a sealed segment nobody has used since the log opened).
    var isIndexLoaded: Bool { lock.withLock { isLoaded } }

    /// The largest batch `maxTimestamp` in the segment (-1 while empty) and the last offset of its batch.
    func largestTimestamp() throws(LogError) -> (timestamp: Int64, offset: Int64) {
        try withLoaded { () throws(LogError) in (largestTimestampStorage, offsetOfLargestTimestampStorage) }
    }

    /// Loads the indexes now (a sealed segment's are otherwise loaded on first use). Blocking.
    func loadIndexes() throws(LogError) {
        try withLoaded { () throws(LogError) in }
    }

    /// Runs `body` under the lock with the indexes loaded.
    private func withLoaded<T>(_ body: () throws(LogError) -> T) throws(LogError) -> T {
        lock.lock()
        defer { lock.unlock() }
        if !isLoaded { try loadLocked() }
        return try body()
    }

    /// Loads a sealed segment's indexes; rebuilds them from the log when they are missing or disagree with it.
    private func loadLocked() throws(LogError) {
        let size = try log.size()
        sizeStorage = size
        let indexPath = directory + "/" + Self.fileName(baseOffset, ".index")
        let timeIndexPath = directory + "/" + Self.fileName(baseOffset, ".timeindex")
        var trusted = SegmentFile.exists(indexPath) && SegmentFile.exists(timeIndexPath)
        if trusted {
            let offsetsClean = try offsetIndex.load()
            let timesClean = try timeIndex.load()
            trusted = offsetsClean && timesClean
                && offsetIndex.lastPosition < max(size, 1) && offsetIndex.lastOffset < nextOffsetStorage
                && timeIndex.entries.last.map { baseOffset + Int64($0.relativeOffset) < nextOffsetStorage } ?? true
        }
        if trusted {
            if let last = timeIndex.entries.last {
                largestTimestampStorage = last.timestamp
                offsetOfLargestTimestampStorage = baseOffset + Int64(last.relativeOffset)
            }
            bytesSinceLastIndexEntry = Int(size - offsetIndex.lastPosition)
        } else {
            // Not trusted: rebuild from the batches (a sealed segment is below the recovery point, so nothing is cut).
            let knownNext = nextOffsetStorage
            _ = try scanLocked(cutTail: false)
            nextOffsetStorage = knownNext
            try offsetIndex.writeAll()
            try timeIndex.writeAll()
        }
        isLoaded = true
    }

    /// After a clean shutdown: trusts the (checked) indexes and reads only the batches after the last index
    /// entry. Throws `.corrupt` if anything but complete batches follows.
    func loadActive() throws(LogError) {
        try locked { () throws(LogError) in
            let size = sizeStorage ?? 0
            let offsetsClean = try offsetIndex.load()
            let timesClean = try timeIndex.load()
            guard offsetsClean, timesClean, offsetIndex.lastPosition < max(size, 1) else {
                throw LogError(.corrupt, "\(log.path): index does not agree with the log")
            }
            let start = offsetIndex.lastPosition
            if let last = timeIndex.entries.last {
                largestTimestampStorage = last.timestamp
                offsetOfLargestTimestampStorage = baseOffset + Int64(last.relativeOffset)
            }
            var scanner = BatchHeaderScanner(file: log, fileSize: size, from: start)
            var end = start
            nextOffsetStorage = offsetIndex.lastOffset + (offsetIndex.entries.isEmpty ? 0 : 1)
            while let header = try scanner.next() {
                if end == start, !offsetIndex.entries.isEmpty, header.lastOffset != offsetIndex.lastOffset {
                    throw LogError(.corrupt, "\(log.path): the last index entry does not point at its batch")
                }
                guard header.baseOffset >= nextOffsetStorage || end == start else {
                    throw LogError(.corrupt, "\(log.path): offsets go backwards at \(header.position)")
                }
                nextOffsetStorage = header.nextOffset
                end = header.endPosition
                noteTimestamp(header)
            }
            if end != size {
                throw LogError(.corrupt, "\(log.path): \(size - end) bytes after the last complete batch")
            }
            if let last = timeIndex.entries.last, baseOffset + Int64(last.relativeOffset) >= nextOffsetStorage {
                throw LogError(.corrupt, "\(log.path): time index points past the log")
            }
            bytesSinceLastIndexEntry = Int(size - start)
            if size > 0 { rollingBasedTimestamp = try firstBatchTimestampLocked() }
            try transactionIndex.truncate(fromOffset: nextOffsetStorage)
        }
    }

    /// Re-reads every batch: checks length, magic, CRC-32C and increasing offsets, cuts the log at the first bad
    /// batch, and rebuilds both indexes. Returns how many bytes were cut.
    @discardableResult
    func recover() throws(LogError) -> Int64 {
        try locked { () throws(LogError) -> Int64 in
            sizeStorage = try log.size()
            let cut = try scanLocked(cutTail: true)
            isLoaded = true
            // Aborts whose markers were cut with the tail are no longer in the log.
            try transactionIndex.truncate(fromOffset: nextOffsetStorage)
            return cut
        }
    }

    /// Reads every batch from the start, rebuilding the in-memory indexes (and the index files as it goes).
    /// With `cutTail`, truncates the log after the last valid batch.
    private func scanLocked(cutTail: Bool) throws(LogError) -> Int64 {
        try offsetIndex.reset()
        try timeIndex.reset()
        nextOffsetStorage = baseOffset
        largestTimestampStorage = -1
        offsetOfLargestTimestampStorage = -1
        bytesSinceLastIndexEntry = 0
        rollingBasedTimestamp = nil
        let size = sizeStorage ?? 0
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: 0)
        var validEnd: Int64 = 0
        var bytes = ByteBuffer()
        while let header = try scanner.next() {
            guard header.baseOffset >= nextOffsetStorage else { break }
            bytes.clear()
            try log.read(at: header.position, length: header.size, into: &bytes)
            guard bytes.readableBytes == header.size, let batch = try? RecordBatch(buffer: bytes), batch.isCRCValid,
                batch.lastOffsetDelta >= 0
            else { break }
            if rollingBasedTimestamp == nil { rollingBasedTimestamp = header.maxTimestamp }
            try indexLocked(header)
            validEnd = header.endPosition
        }
        let cut = size - validEnd
        if cut > 0, cutTail {
            try log.truncate(to: validEnd)
            sizeStorage = validEnd
        }
        return cutTail ? cut : 0
    }

    private func noteTimestamp(_ header: BatchHeader) {
        if header.maxTimestamp > largestTimestampStorage {
            largestTimestampStorage = header.maxTimestamp
            offsetOfLargestTimestampStorage = header.lastOffset
        }
    }

    private func indexLocked(_ header: BatchHeader) throws(LogError) {
        noteTimestamp(header)
        if bytesSinceLastIndexEntry > configuration.indexIntervalBytes {
            try offsetIndex.append(offset: header.lastOffset, position: header.position)
            try timeIndex.maybeAppend(timestamp: largestTimestampStorage, offset: offsetOfLargestTimestampStorage)
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.size
        nextOffsetStorage = header.nextOffset
    }

    private func firstBatchTimestampLocked() throws(LogError) -> Int64? {
        var scanner = BatchHeaderScanner(file: log, fileSize: sizeStorage ?? 0, from: 0)
        return try scanner.next()?.maxTimestamp
    }

    // MARK: Writing (the log's writer only)

    /// Appends batches whose offsets are assigned; `headers` describe them in order, positions relative to the
    /// start of `bytes`. The new end is published only after the bytes are written.
    /// With `patchingPrefixes`, each batch's first 16 bytes (base offset, length, leader epoch) are written from its
    /// header rather than from `bytes`, so a leader's offsets and epoch land in the file without copying the batch.
    func append(_ bytes: ByteBuffer, headers: [BatchHeader], patchingPrefixes: Bool = false) throws(LogError) {
        let start = lock.withLock { sizeStorage ?? 0 }
        if patchingPrefixes {
            try log.write(bytes, at: start, patching: headers)
        } else {
            try log.write(bytes, at: start)
        }
        try locked { () throws(LogError) in
            if rollingBasedTimestamp == nil { rollingBasedTimestamp = headers[0].maxTimestamp }
            for var header in headers {
                header.position += start
                try indexLocked(header)
            }
            sizeStorage = start + Int64(bytes.readableBytes)
        }
    }

    /// Whether appending `bytes` more, up to `lastOffset`, needs a new segment first. Age counts as Kafka's
    /// does: the incoming `maxTimestamp` minus the first batch's, or the time since creation without timestamps.
    /// `configuration` is the log's current one: a segment opened before its topic's settings were known (at
    /// start-up) must still roll at the topic's `segment.bytes` and `segment.ms`.
    func needsRoll(
        adding bytes: Int, lastOffset: Int64, maxTimestamp: Int64, now: Int64, configuration: LogConfiguration
    ) -> Bool {
        lock.withLock {
            let size = sizeStorage ?? 0
            guard size > 0 else { return false }
            let waited: Int64
            if let first = rollingBasedTimestamp, first >= 0 { waited = maxTimestamp - first } else { waited = now - createdAtMs }
            return size + Int64(bytes) > Int64(configuration.segmentBytesMax)
                || waited >= configuration.segmentMs
                || offsetIndex.isFull || timeIndex.isFull
                || lastOffset - baseOffset > Int64(Int32.max)
                || size + Int64(bytes) > Int64(Int32.max)
        }
    }

    /// Removes every batch whose last offset is ≥ `offset`. Returns the bytes removed. Readers must be excluded.
    @discardableResult
    func truncate(toOffset offset: Int64) throws(LogError) -> Int64 {
        guard let cutAt = try findBatch(containingOrAfter: offset) else { return 0 }
        return try withLoaded { () throws(LogError) -> Int64 in
            let size = sizeStorage ?? 0
            let removed = size - cutAt.position
            try log.truncate(to: cutAt.position)
            sizeStorage = cutAt.position
            try offsetIndex.truncate(toPosition: cutAt.position)
            try timeIndex.truncate(toOffset: cutAt.baseOffset)
            try transactionIndex.truncate(fromOffset: cutAt.baseOffset)
            // Re-derive what the segment knows from what remains.
            nextOffsetStorage = baseOffset
            largestTimestampStorage = -1
            offsetOfLargestTimestampStorage = -1
            var scanner = BatchHeaderScanner(file: log, fileSize: cutAt.position, from: 0)
            while let header = try scanner.next() {
                nextOffsetStorage = header.nextOffset
                noteTimestamp(header)
            }
            if cutAt.position == 0 { rollingBasedTimestamp = nil }
            bytesSinceLastIndexEntry = Int(cutAt.position - offsetIndex.lastPosition)
            return removed
        }
    }

    func preallocateIndexes() throws(LogError) {
        try withLoaded { () throws(LogError) in
            try offsetIndex.preallocate()
            try timeIndex.preallocate()
        }
    }

    /// Called when the segment stops being the active one, and on close: the time index gets the final largest
    /// timestamp and both indexes shrink to their entries.
    func seal() throws(LogError) {
        try locked { () throws(LogError) in
            guard isLoaded else { return }
            if largestTimestampStorage >= 0 {
                try timeIndex.maybeAppend(timestamp: largestTimestampStorage, offset: offsetOfLargestTimestampStorage)
            }
            try offsetIndex.trim()
            try timeIndex.trim()
        }
    }

    func sync() throws(LogError) {
        try log.sync()
        if lock.withLock({ isLoaded }) {
            try offsetIndex.file.sync()
            try timeIndex.file.sync()
        }
        if lock.withLock({ transactionIndex.hasEntries }) { try transactionIndex.file.sync() }
    }

    /// Renames the files to `*.deleted`; `removeDeletedFiles` unlinks them later. Readers holding the segment
    /// keep reading until then. A segment replaced by its cleaned copy keeps its `.txnindex` in place: cleaning
    /// keeps every transaction marker, so the copy's aborted transactions are the same entries.
    func markDeleted(keepingTransactionIndex: Bool = false) throws(LogError) {
        let files = keepingTransactionIndex ? [log, offsetIndex.file, timeIndex.file] : [log, offsetIndex.file, timeIndex.file, transactionIndex.file]
        for file in files {
            let path = file.path
            if SegmentFile.exists(path) { try file.rename(to: path + ".deleted") }
        }
    }

    /// Unlinks the `.deleted` files and closes their descriptors (freeing the disk space).
    func removeDeletedFiles() {
        for file in [log, offsetIndex.file, timeIndex.file, transactionIndex.file] {
            let path = file.path
            if path.hasSuffix(".deleted") { SegmentFile.remove(path) }
            file.closeDescriptor(force: true)
        }
    }

    // MARK: Reading (any thread)

    /// The published size and where a scan for `offset` starts (from the offset index).
    private func scanStart(forOffset offset: Int64) throws(LogError) -> (position: Int64, size: Int64) {
        try withLoaded { () throws(LogError) in (offsetIndex.lookup(offset).position, sizeStorage ?? 0) }
    }

    /// The first batch whose last offset is ≥ `offset`, found from the offset index and a header scan.
    func findBatch(containingOrAfter offset: Int64) throws(LogError) -> BatchHeader? {
        let (start, size) = try scanStart(forOffset: offset)
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: start)
        while let header = try scanner.next() {
            if header.lastOffset >= offset { return header }
        }
        return nil
    }

    /// The batches from the one holding `offset`, up to `maximumBytes` (the first whole regardless when
    /// `minimumOneBatch`) and only batches whose last offset is below `upperBound`.
    func read(
        from offset: Int64, maximumBytes: Int, upperBound: Int64, minimumOneBatch: Bool
    ) throws(LogError) -> (position: Int64, length: Int, firstOffset: Int64, lastOffset: Int64)? {
        let (start, size) = try scanStart(forOffset: offset)
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: start)
        var first: BatchHeader?
        while let header = try scanner.next() {
            if header.lastOffset >= offset {
                first = header
                break
            }
        }
        guard let first, first.lastOffset < upperBound else { return nil }
        if first.size > maximumBytes && !minimumOneBatch { return nil }
        var length = first.size
        var lastOffset = first.lastOffset
        while let header = try scanner.next(), header.lastOffset < upperBound, length + header.size <= maximumBytes {
            length += header.size
            lastOffset = header.lastOffset
        }
        return (first.position, length, first.baseOffset, lastOffset)
    }

    /// Every batch header from `position`, in order (for time lookups and dumps).
    func headers(from position: Int64 = 0) throws(LogError) -> [BatchHeader] {
        let size = try withLoaded { () throws(LogError) in sizeStorage ?? 0 }
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: position)
        var result = [BatchHeader]()
        while let header = try scanner.next() { result.append(header) }
        return result
    }

    /// Calls `body` with each batch header from `position` on, in order, until it returns false.
    func forEachHeader(from position: Int64, _ body: (BatchHeader) throws(LogError) -> Bool) throws(LogError) {
        let size = try withLoaded { () throws(LogError) in sizeStorage ?? 0 }
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: position)
        while let header = try scanner.next() {
            guard try body(header) else { return }
        }
    }

    /// The position where a search for the first record with a timestamp ≥ `timestamp` starts.
    func startPosition(forTimestamp timestamp: Int64) throws(LogError) -> Int64 {
        try withLoaded { () throws(LogError) in offsetIndex.lookup(timeIndex.lookup(timestamp)).position }
    }

    // MARK: Aborted transactions

    /// Indexes an aborted transaction whose marker is in this segment (the log's writer only).
    func addAbortedTransaction(_ transaction: AbortedTransaction) throws(LogError) {
        try locked { () throws(LogError) in try transactionIndex.add(transaction) }
    }

    /// Appends the aborted transactions overlapping `[startOffset, upperBound)`; true when later segments cannot
    /// hold more (see `TransactionIndex.collect`).
    func collectAbortedTransactions(
        from startOffset: Int64, upperBound: Int64, into result: inout [AbortedTransaction]
    ) throws(LogError) -> Bool {
        try locked { () throws(LogError) -> Bool in
            try transactionIndex.collect(from: startOffset, upperBound: upperBound, into: &result)
        }
    }

    /// The aborted transactions indexed in this segment (for tests and checks).
    func abortedTransactions() throws(LogError) -> [AbortedTransaction] {
        try locked { () throws(LogError) -> [AbortedTransaction] in
            try transactionIndex.loadIfNeeded()
            return transactionIndex.entries
        }
    }

    /// The in-memory index entries (for tests and checks).
    func indexEntries() throws(LogError) -> (offsets: [OffsetIndex.Entry], times: [TimeIndex.Entry]) {
        try withLoaded { () throws(LogError) in (offsetIndex.entries, timeIndex.entries) }
    }
}
