import NIOCore

/// Writing a segment: the log's single writer only (appends, rolls, truncation, seal, aborted transactions).
extension LogSegment {
    /// Appends batches whose offsets are assigned; `headers` describe them in order, positions relative to the
    /// start of `bytes`. The bytes are written outside the lock; the new end is published (with the index entries
    /// the batches earn) only after they are written.
    /// With `patchingPrefixes`, each batch's first 16 bytes (base offset, length, leader epoch) are written from its
    /// header rather than from `bytes`, so a leader's offsets and epoch land in the file without copying the batch.
    func append(_ bytes: ByteBuffer, headers: [BatchHeader], patchingPrefixes: Bool = false) throws(LogError) {
        let start = state.withLockedValue { $0.size ?? 0 }
        if patchingPrefixes {
            try log.write(bytes, at: start, patching: headers)
        } else {
            try log.write(bytes, at: start)
        }
        let indexIntervalBytes = configuration.indexIntervalBytes
        try state.withLockedValueTyped { (state) throws(LogError) in
            if state.rollingBasedTimestamp == nil { state.rollingBasedTimestamp = headers[0].maxTimestamp }
            for var header in headers {
                header.position += start
                try state.index(header, indexIntervalBytes: indexIntervalBytes)
            }
            state.size = start + Int64(bytes.readableBytes)
        }
    }

    /// Whether appending `bytes` more, up to `lastOffset`, needs a new segment first. Age counts as Kafka's
    /// does: the incoming `maxTimestamp` minus the first batch's, or the time since creation without timestamps.
    /// `configuration` is the log's current one: a segment opened before its topic's settings were known (at
    /// start-up) must still roll at the topic's `segment.bytes` and `segment.ms`.
    func needsRoll(
        adding bytes: Int, lastOffset: Int64, maxTimestamp: Int64, now: Int64, configuration: LogConfiguration
    ) -> Bool {
        state.withLockedValue { state in
            let size = state.size ?? 0
            guard size > 0 else { return false }
            let waited: Int64
            if let first = state.rollingBasedTimestamp, first >= 0 {
                waited = maxTimestamp - first
            } else {
                waited = now - createdAtMs
            }
            return size + Int64(bytes) > Int64(configuration.segmentBytesMax)
                || waited >= configuration.segmentMs
                || state.offsetIndex.isFull || state.timeIndex.isFull
                || lastOffset - baseOffset > Int64(Int32.max)
                || size + Int64(bytes) > Int64(Int32.max)
        }
    }

    /// Removes every batch whose last offset is ≥ `offset`. Returns the bytes removed. Readers must be excluded.
    @discardableResult
    func truncate(toOffset offset: Int64) throws(LogError) -> Int64 {
        guard let cutAt = try findBatch(containingOrAfter: offset) else { return 0 }
        return try withLoaded { (state) throws(LogError) -> Int64 in
            let size = state.size ?? 0
            let removed = size - cutAt.position
            try log.truncate(to: cutAt.position)
            state.size = cutAt.position
            try state.offsetIndex.truncate(toPosition: cutAt.position)
            try state.timeIndex.truncate(toOffset: cutAt.baseOffset)
            try state.transactionIndex.truncate(fromOffset: cutAt.baseOffset)
            // Re-derive what the segment knows from what remains.
            state.nextOffset = baseOffset
            state.largestTimestamp = -1
            state.offsetOfLargestTimestamp = -1
            var scanner = BatchHeaderScanner(file: log, fileSize: cutAt.position, from: 0)
            while let header = try scanner.next() {
                state.nextOffset = header.nextOffset
                state.noteTimestamp(header)
            }
            if cutAt.position == 0 { state.rollingBasedTimestamp = nil }
            state.bytesSinceLastIndexEntry = Int(cutAt.position - state.offsetIndex.lastPosition)
            return removed
        }
    }

    func preallocateIndexes() throws(LogError) {
        try withLoaded { (state) throws(LogError) in
            try state.offsetIndex.preallocate()
            try state.timeIndex.preallocate()
        }
    }

    /// Called when the segment stops being the active one, and on close: the time index gets the final largest
    /// timestamp and both indexes shrink to their entries.
    func seal() throws(LogError) {
        try state.withLockedValueTyped { (state) throws(LogError) in
            guard state.isLoaded else { return }
            if state.largestTimestamp >= 0 {
                try state.timeIndex.maybeAppend(
                    timestamp: state.largestTimestamp, offset: state.offsetOfLargestTimestamp)
            }
            try state.offsetIndex.trim()
            try state.timeIndex.trim()
        }
    }

    /// Indexes an aborted transaction whose marker is in this segment.
    func addAbortedTransaction(_ transaction: AbortedTransaction) throws(LogError) {
        try state.withLockedValueTyped { (state) throws(LogError) in try state.transactionIndex.add(transaction) }
    }
}
