import KafkaRecords
import NIOCore

/// One segment of a partition log: `<base offset, 20 digits>.log` with its `.index` and `.timeindex`.
///
/// The `.log` holds record batches (v2) exactly as they travel on the wire, offsets already assigned, one after
/// another from byte 0. The indexes are sparse (see `OffsetIndex`, `TimeIndex`). What the segment knows about
/// itself (size, next offset, largest timestamp) is derived from the files on open: from the indexes and the
/// batches after the last index entry after a clean shutdown, or by `recover()` which re-reads every batch.
final class LogSegment {
    let baseOffset: Int64
    let directory: String
    let log: SegmentFile
    let offsetIndex: OffsetIndex
    let timeIndex: TimeIndex
    private let configuration: LogConfiguration

    /// Bytes in the `.log` file.
    private(set) var size: Int64 = 0
    /// The offset after the last batch (the base offset while empty).
    private(set) var nextOffset: Int64
    /// The largest batch `maxTimestamp` in the segment, -1 while empty.
    private(set) var largestTimestamp: Int64 = -1
    /// The last offset of the batch holding `largestTimestamp`.
    private(set) var offsetOfLargestTimestamp: Int64 = -1
    /// When the segment was created (ms), for `segment.ms`.
    let createdAtMs: Int64
    private var bytesSinceLastIndexEntry = 0

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    var logPath: String { directory + "/" + Self.fileName(baseOffset, ".log") }
    var isEmpty: Bool { size == 0 }

    /// Opens or creates the segment. With `rebuild`, the indexes are emptied and the log is not scanned: the
    /// caller runs `recover()`.
    init(directory: String, baseOffset: Int64, configuration: LogConfiguration, createdAtMs: Int64, rebuild: Bool) throws(LogError) {
        self.directory = directory
        self.baseOffset = baseOffset
        self.configuration = configuration
        self.createdAtMs = createdAtMs
        nextOffset = baseOffset
        log = try SegmentFile(path: directory + "/" + Self.fileName(baseOffset, ".log"), create: true)
        let indexExists = SegmentFile.exists(directory + "/" + Self.fileName(baseOffset, ".index"))
        let load = !rebuild && indexExists
        offsetIndex = try OffsetIndex(
            path: directory + "/" + Self.fileName(baseOffset, ".index"), baseOffset: baseOffset,
            maximumBytes: configuration.segmentIndexBytesMax, load: load
        )
        timeIndex = try TimeIndex(
            path: directory + "/" + Self.fileName(baseOffset, ".timeindex"), baseOffset: baseOffset,
            maximumBytes: configuration.segmentIndexBytesMax, load: load
        )
        size = try log.size()
        if rebuild {
            try offsetIndex.reset()
            try timeIndex.reset()
        } else {
            try loadTail()
        }
    }

    /// After a clean shutdown: trusts the indexes and reads only the batches after the last index entry.
    private func loadTail() throws(LogError) {
        let start = offsetIndex.entries.last.map { Int64($0.position) } ?? 0
        if let last = timeIndex.entries.last {
            largestTimestamp = last.timestamp
            offsetOfLargestTimestamp = baseOffset + Int64(last.relativeOffset)
        }
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: start)
        var end = start
        while let header = try scanner.next() {
            nextOffset = header.nextOffset
            end = header.endPosition
            if header.maxTimestamp > largestTimestamp {
                largestTimestamp = header.maxTimestamp
                offsetOfLargestTimestamp = header.lastOffset
            }
        }
        if end != size {
            throw LogError(.corrupt, "\(logPath): \(size - end) bytes after the last complete batch")
        }
    }

    /// Re-reads every batch: checks length, magic, CRC-32C and increasing offsets, cuts the log at the first bad
    /// batch, and rebuilds both indexes. Returns how many bytes were cut.
    @discardableResult
    func recover(maximumBatchBytes: Int = Int(Int32.max)) throws(LogError) -> Int64 {
        try offsetIndex.reset()
        try timeIndex.reset()
        nextOffset = baseOffset
        largestTimestamp = -1
        offsetOfLargestTimestamp = -1
        bytesSinceLastIndexEntry = 0
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: 0)
        var validEnd: Int64 = 0
        while let header = try scanner.next() {
            guard header.size <= maximumBatchBytes, header.baseOffset >= nextOffset else { break }
            let bytes = try log.read(at: header.position, length: header.size)
            guard bytes.readableBytes == header.size, let batch = try? RecordBatch(buffer: bytes), batch.isCRCValid else { break }
            try indexBatch(header)
            validEnd = header.endPosition
        }
        let cut = size - validEnd
        if cut > 0 {
            try log.truncate(to: validEnd)
            size = validEnd
        }
        return cut
    }

    private func indexBatch(_ header: BatchHeader) throws(LogError) {
        if header.maxTimestamp > largestTimestamp {
            largestTimestamp = header.maxTimestamp
            offsetOfLargestTimestamp = header.lastOffset
        }
        if bytesSinceLastIndexEntry > configuration.indexIntervalBytes {
            try offsetIndex.append(offset: header.lastOffset, position: Int(header.position))
            try timeIndex.maybeAppend(timestamp: largestTimestamp, offset: offsetOfLargestTimestamp)
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.size
        nextOffset = header.nextOffset
    }

    /// Appends batches whose offsets are assigned; `headers` describe them in order.
    func append(_ bytes: ByteBuffer, headers: [BatchHeader]) throws(LogError) {
        try log.write(bytes, at: size)
        for var header in headers {
            header.position += size
            try indexBatch(header)
        }
        size += Int64(bytes.readableBytes)
    }

    /// Whether appending `bytes` more, up to `lastOffset`, needs a new segment first.
    func needsRoll(adding bytes: Int, lastOffset: Int64, now: Int64) -> Bool {
        guard !isEmpty else { return false }
        return size + Int64(bytes) > Int64(configuration.segmentBytesMax)
            || now - createdAtMs >= configuration.segmentMs
            || offsetIndex.isFull || timeIndex.isFull
            || lastOffset - baseOffset > Int64(Int32.max)
    }

    /// The first batch whose last offset is ≥ `offset`, found from the offset index and a header scan.
    func findBatch(containingOrAfter offset: Int64) throws(LogError) -> BatchHeader? {
        let start = offsetIndex.lookup(offset)
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: Int64(start.position))
        while let header = try scanner.next() {
            if header.lastOffset >= offset { return header }
        }
        return nil
    }

    /// The batches from the one holding `offset`, up to `maximumBytes` (the first whole regardless when
    /// `minimumOneBatch`) and only batches that end before `upperBound`.
    func read(from offset: Int64, maximumBytes: Int, upperBound: Int64, minimumOneBatch: Bool) throws(LogError) -> (position: Int64, length: Int, firstOffset: Int64)? {
        guard let first = try findBatch(containingOrAfter: offset), first.lastOffset < upperBound else { return nil }
        if first.size > maximumBytes && !minimumOneBatch { return nil }
        var length = first.size
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: first.endPosition)
        while let header = try scanner.next(), header.lastOffset < upperBound, length + header.size <= maximumBytes {
            length += header.size
        }
        return (first.position, length, first.baseOffset)
    }

    /// Every batch header, in order (for time lookups, truncation and dumps).
    func headers(from position: Int64 = 0) throws(LogError) -> [BatchHeader] {
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: position)
        var result = [BatchHeader]()
        while let header = try scanner.next() { result.append(header) }
        return result
    }

    /// The position where a search for timestamp `timestamp` starts.
    func startPosition(forTimestamp timestamp: Int64) -> Int64 {
        Int64(offsetIndex.lookup(timeIndex.lookup(timestamp)).position)
    }

    /// Removes every batch whose last offset is ≥ `offset`. Returns the bytes removed.
    @discardableResult
    func truncate(toOffset offset: Int64) throws(LogError) -> Int64 {
        guard let cutAt = try findBatch(containingOrAfter: offset) else { return 0 }
        let removed = size - cutAt.position
        try log.truncate(to: cutAt.position)
        size = cutAt.position
        try offsetIndex.truncate(toOffset: cutAt.baseOffset)
        try timeIndex.truncate(toOffset: cutAt.baseOffset)
        // Re-derive what the segment knows from what remains.
        nextOffset = baseOffset
        largestTimestamp = -1
        offsetOfLargestTimestamp = -1
        for header in try headers() {
            nextOffset = header.nextOffset
            if header.maxTimestamp > largestTimestamp {
                largestTimestamp = header.maxTimestamp
                offsetOfLargestTimestamp = header.lastOffset
            }
        }
        bytesSinceLastIndexEntry = Int(size - Int64(offsetIndex.entries.last?.position ?? 0))
        return removed
    }

    func preallocateIndexes() throws(LogError) {
        try offsetIndex.preallocate()
        try timeIndex.preallocate()
    }

    /// Called when the segment stops being the active one: the time index gets the final largest timestamp and
    /// both indexes shrink to their entries.
    func seal() throws(LogError) {
        if largestTimestamp >= 0 { try timeIndex.maybeAppend(timestamp: largestTimestamp, offset: offsetOfLargestTimestamp) }
        try offsetIndex.trim()
        try timeIndex.trim()
    }

    func sync() throws(LogError) {
        try log.sync()
        try offsetIndex.file.sync()
        try timeIndex.file.sync()
    }

    /// Renames the three files to `*.deleted`; `removeDeletedFiles` unlinks them later.
    func markDeleted() throws(LogError) {
        for suffix in [".log", ".index", ".timeindex"] {
            let path = directory + "/" + Self.fileName(baseOffset, suffix)
            if SegmentFile.exists(path) { try SegmentFile.rename(path, to: path + ".deleted") }
        }
    }

    func removeDeletedFiles() {
        for suffix in [".log", ".index", ".timeindex"] {
            SegmentFile.remove(directory + "/" + Self.fileName(baseOffset, suffix) + ".deleted")
        }
    }
}
