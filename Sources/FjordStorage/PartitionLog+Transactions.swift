extension PartitionLog {
    /// Indexes an aborted transaction in the segment holding its ABORT marker (`lastOffset`), as Kafka does.
    /// Does nothing when that producer's abort at that offset is indexed already — the producer-state rebuild
    /// re-adds every abort it replays, repairing an index entry lost in a crash — or when the marker is not in
    /// the log (below the log start, or past its end).
    public func addAbortedTransaction(_ transaction: AbortedTransaction) throws(LogError) {
        try locked { (state) throws(LogError) in
            guard !state.isClosed else { throw LogError(.closed, "\(topicPartition) is closed") }
            let segments = self.segments
            guard transaction.lastOffset >= segments.first!.baseOffset,
                transaction.lastOffset < segments.last!.nextOffset
            else { return }
            try segments[Self.segmentIndex(in: segments, containing: transaction.lastOffset)].addAbortedTransaction(
                transaction)
        }
    }

    /// The aborted transactions overlapping `[startOffset, upperBound)` — the ABORT marker at or after
    /// `startOffset` and the first record below `upperBound` — for a read_committed fetch of that range, in marker
    /// order. Looks from the segment holding `startOffset` on (an abort indexed in an earlier segment ended before
    /// it), and stops at an entry whose last stable offset reaches `upperBound`.
    public func abortedTransactions(from startOffset: Int64, upperBound: Int64) throws(LogError) -> [AbortedTransaction]
    {
        try reading { () throws(LogError) -> [AbortedTransaction] in
            var result = [AbortedTransaction]()
            guard startOffset < upperBound else { return result }
            let segments = self.segments
            for segment in segments[Self.segmentIndex(in: segments, containing: startOffset)...] {
                if try segment.collectAbortedTransactions(from: startOffset, upperBound: upperBound, into: &result) {
                    break
                }
            }
            return result
        }
    }
}
