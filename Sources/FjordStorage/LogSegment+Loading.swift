import FjordReplication
import KafkaRecords
import NIOCore

/// Opening, creating and loading segments: a new segment, an existing one opened to be written or recovered, a
/// sealed one opened lazily; the loading of a lazy segment's indexes (rebuilt when they do not agree with the
/// log), the check of the active segment's tail after a clean shutdown, and recovery's full scan.
extension LogSegment {
    /// A new, empty segment: the three files are created (emptied if they exist); a stale `.txnindex` is removed.
    static func create(
        directory: String, baseOffset: Int64, configuration: LogConfiguration, createdAtMs: Int64,
        cache: SegmentFileCache
    ) throws(LogError) -> LogSegment {
        let log = try SegmentFile(path: directory + "/" + fileName(baseOffset, ".log"), create: true, cache: cache)
        try log.truncate(to: 0)
        for suffix in [".index", ".timeindex"] {
            try SegmentFile(path: directory + "/" + fileName(baseOffset, suffix), create: true, cache: cache).truncate(
                to: 0)
        }
        SegmentFile.remove(directory + "/" + fileName(baseOffset, ".txnindex"))
        return LogSegment(
            directory: directory, baseOffset: baseOffset, configuration: configuration, createdAtMs: createdAtMs,
            cache: cache, log: log, nextOffset: baseOffset, size: 0, loaded: true
        )
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
            cache: cache, log: log, nextOffset: nextOffset, size: nil, loaded: false
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
        return LogSegment(
            directory: directory, baseOffset: baseOffset, configuration: configuration, createdAtMs: createdAtMs,
            cache: cache, log: log, nextOffset: baseOffset, size: try log.size(), loaded: true
        )
    }

    /// Loads the indexes now (a sealed segment's are otherwise loaded on first use). Blocking.
    func loadIndexes() throws(LogError) {
        try withLoaded { (_) throws(LogError) in }
    }

    /// Runs `body` under the segment's lock with the indexes loaded (loading them first, under the lock, if a
    /// lazily opened segment has not yet).
    func withLoaded<T>(_ body: (inout LogSegmentState) throws(LogError) -> T) throws(LogError) -> T {
        try state.withLockedValueTyped { (state) throws(LogError) -> T in
            if !state.isLoaded { try load(&state) }
            return try body(&state)
        }
    }

    /// Loads a sealed segment's indexes; rebuilds them from the log when they are missing or disagree with it.
    private func load(_ state: inout LogSegmentState) throws(LogError) {
        let size = try log.size()
        state.size = size
        let indexPath = directory + "/" + Self.fileName(baseOffset, ".index")
        let timeIndexPath = directory + "/" + Self.fileName(baseOffset, ".timeindex")
        var trusted = SegmentFile.exists(indexPath) && SegmentFile.exists(timeIndexPath)
        if trusted {
            let offsetsClean = try state.offsetIndex.load()
            let timesClean = try state.timeIndex.load()
            let next = state.nextOffset
            trusted =
                offsetsClean && timesClean
                && state.offsetIndex.lastPosition < max(size, 1) && state.offsetIndex.lastOffset < next
                && state.timeIndex.entries.last.map { baseOffset + Int64($0.relativeOffset) < next } ?? true
        }
        if trusted {
            if let last = state.timeIndex.entries.last {
                state.largestTimestamp = last.timestamp
                state.offsetOfLargestTimestamp = baseOffset + Int64(last.relativeOffset)
            }
            state.bytesSinceLastIndexEntry = Int(size - state.offsetIndex.lastPosition)
        } else {
            // Not trusted: rebuild from the batches (a sealed segment is below the recovery point, so nothing is cut).
            let knownNext = state.nextOffset
            var below: [LeaderEpochHistory.Entry] = []  // below the recovery point: the checkpoint has its epochs
            _ = try scan(&state, cutTail: false, epochStarts: &below)
            state.nextOffset = knownNext
            try state.offsetIndex.writeAll()
            try state.timeIndex.writeAll()
        }
        state.isLoaded = true
    }

    /// After a clean shutdown: trusts the (checked) indexes and reads only the batches after the last index
    /// entry. Throws `.corrupt` if anything but complete batches follows.
    func loadActive() throws(LogError) {
        try state.withLockedValueTyped { (state) throws(LogError) in
            let size = state.size ?? 0
            let offsetsClean = try state.offsetIndex.load()
            let timesClean = try state.timeIndex.load()
            guard offsetsClean, timesClean, state.offsetIndex.lastPosition < max(size, 1) else {
                throw LogError(.corrupt, "\(log.path): index does not agree with the log")
            }
            let start = state.offsetIndex.lastPosition
            if let last = state.timeIndex.entries.last {
                state.largestTimestamp = last.timestamp
                state.offsetOfLargestTimestamp = baseOffset + Int64(last.relativeOffset)
            }
            var scanner = BatchHeaderScanner(file: log, fileSize: size, from: start)
            var end = start
            let indexed = state.offsetIndex.lastOffset
            let hasEntries = !state.offsetIndex.entries.isEmpty
            state.nextOffset = indexed + (hasEntries ? 1 : 0)
            while let header = try scanner.next() {
                if end == start, hasEntries, header.lastOffset != indexed {
                    throw LogError(.corrupt, "\(log.path): the last index entry does not point at its batch")
                }
                guard header.baseOffset >= state.nextOffset || end == start else {
                    throw LogError(.corrupt, "\(log.path): offsets go backwards at \(header.position)")
                }
                state.nextOffset = header.nextOffset
                end = header.endPosition
                state.noteTimestamp(header)
            }
            if end != size {
                throw LogError(.corrupt, "\(log.path): \(size - end) bytes after the last complete batch")
            }
            if let last = state.timeIndex.entries.last, baseOffset + Int64(last.relativeOffset) >= state.nextOffset {
                throw LogError(.corrupt, "\(log.path): time index points past the log")
            }
            state.bytesSinceLastIndexEntry = Int(size - start)
            if size > 0 { state.rollingBasedTimestamp = try firstBatchTimestamp(size: size) }
            try state.transactionIndex.truncate(fromOffset: state.nextOffset)
        }
    }

    /// Re-reads every batch: checks length, magic, CRC-32C and increasing offsets, cuts the log at the first bad
    /// batch, and rebuilds both indexes. Returns how many bytes were cut.
    @discardableResult
    func recover(epochStarts: inout [LeaderEpochHistory.Entry]) throws(LogError) -> Int64 {
        try state.withLockedValueTyped { (state) throws(LogError) -> Int64 in
            state.size = try log.size()
            let cut = try scan(&state, cutTail: true, epochStarts: &epochStarts)
            state.isLoaded = true
            // Aborts whose markers were cut with the tail are no longer in the log.
            try state.transactionIndex.truncate(fromOffset: state.nextOffset)
            return cut
        }
    }

    /// Reads every batch from the start, rebuilding the in-memory indexes (and the index files as it goes).
    /// With `cutTail`, truncates the log after the last valid batch.
    /// Each batch of an epoch newer than the last in `epochStarts` is noted there (the epoch starts at its base
    /// offset): what the leader-epoch checkpoint may have missed when the process died between an append and the
    /// checkpoint's write.
    private func scan(
        _ state: inout LogSegmentState, cutTail: Bool, epochStarts: inout [LeaderEpochHistory.Entry]
    ) throws(LogError) -> Int64 {
        try state.offsetIndex.reset()
        try state.timeIndex.reset()
        state.nextOffset = baseOffset
        state.largestTimestamp = -1
        state.offsetOfLargestTimestamp = -1
        state.bytesSinceLastIndexEntry = 0
        state.rollingBasedTimestamp = nil
        let size = state.size ?? 0
        let indexIntervalBytes = configuration.indexIntervalBytes
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: 0)
        var validEnd: Int64 = 0
        var bytes = ByteBuffer()
        while let header = try scanner.next() {
            guard header.baseOffset >= state.nextOffset else { break }
            bytes.clear()
            try log.read(at: header.position, length: header.size, into: &bytes)
            guard bytes.readableBytes == header.size, let batch = try? RecordBatch(buffer: bytes), batch.isCRCValid,
                batch.lastOffsetDelta >= 0
            else { break }
            if state.rollingBasedTimestamp == nil { state.rollingBasedTimestamp = header.maxTimestamp }
            try state.index(header, indexIntervalBytes: indexIntervalBytes)
            validEnd = header.endPosition
            if header.partitionLeaderEpoch >= 0, header.partitionLeaderEpoch > (epochStarts.last?.epoch ?? -1) {
                epochStarts.append(.init(epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset))
            }
        }
        let cut = size - validEnd
        if cut > 0, cutTail {
            try log.truncate(to: validEnd)
            state.size = validEnd
        }
        return cutTail ? cut : 0
    }

    private func firstBatchTimestamp(size: Int64) throws(LogError) -> Int64? {
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: 0)
        return try scanner.next()?.maxTimestamp
    }
}
