/// Reading a segment, from any thread: where a scan starts (from the indexes, under the lock), then batch headers
/// read from the `.log` outside the lock, never past the published size.
extension LogSegment {
    /// The largest batch `maxTimestamp` in the segment (-1 while empty) and the last offset of its batch.
    func largestTimestamp() throws(LogError) -> (timestamp: Int64, offset: Int64) {
        try withLoaded { (state) throws(LogError) in (state.largestTimestamp, state.offsetOfLargestTimestamp) }
    }

    /// The published size and where a scan for `offset` starts (from the offset index).
    private func scanStart(forOffset offset: Int64) throws(LogError) -> (position: Int64, size: Int64) {
        try withLoaded { (state) throws(LogError) in (state.offsetIndex.lookup(offset).position, state.size ?? 0) }
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
        let size = try withLoaded { (state) throws(LogError) in state.size ?? 0 }
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: position)
        var result = [BatchHeader]()
        while let header = try scanner.next() { result.append(header) }
        return result
    }

    /// Calls `body` with each batch header from `position` on, in order, until it returns false.
    func forEachHeader(from position: Int64, _ body: (BatchHeader) throws(LogError) -> Bool) throws(LogError) {
        let size = try withLoaded { (state) throws(LogError) in state.size ?? 0 }
        var scanner = BatchHeaderScanner(file: log, fileSize: size, from: position)
        while let header = try scanner.next() {
            guard try body(header) else { return }
        }
    }

    /// The position where a search for the first record with a timestamp ≥ `timestamp` starts.
    func startPosition(forTimestamp timestamp: Int64) throws(LogError) -> Int64 {
        try withLoaded { (state) throws(LogError) in
            state.offsetIndex.lookup(state.timeIndex.lookup(timestamp)).position
        }
    }

    // MARK: Aborted transactions

    /// Appends the aborted transactions overlapping `[startOffset, upperBound)`; true when later segments cannot
    /// hold more (see `TransactionIndex.collect`). Loads the `.txnindex` on first use, under the lock.
    func collectAbortedTransactions(
        from startOffset: Int64, upperBound: Int64, into result: inout [AbortedTransaction]
    ) throws(LogError) -> Bool {
        try state.withLockedValueTyped { (state) throws(LogError) -> Bool in
            try state.transactionIndex.collect(from: startOffset, upperBound: upperBound, into: &result)
        }
    }

    /// The aborted transactions indexed in this segment (for tests and checks).
    func abortedTransactions() throws(LogError) -> [AbortedTransaction] {
        try state.withLockedValueTyped { (state) throws(LogError) -> [AbortedTransaction] in
            try state.transactionIndex.loadIfNeeded()
            return state.transactionIndex.entries
        }
    }

    /// The in-memory index entries (for tests and checks).
    func indexEntries() throws(LogError) -> (offsets: [OffsetIndex.Entry], times: [TimeIndex.Entry]) {
        try withLoaded { (state) throws(LogError) in (state.offsetIndex.entries, state.timeIndex.entries) }
    }
}
