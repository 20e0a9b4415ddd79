/// The core's copy of the metadata log: the latest snapshot and the batches after it. The driver's files hold the
/// same thing (it carries out every `appendLog`, `truncateLog`, `installSnapshot` and `deleteLogPrefix`), so memory
/// stays bounded by how often the driver snapshots.
///
/// Invariants: batches are consecutive from `startOffset`, their epochs never decrease, and the first batch's
/// epoch is not below the snapshot's.
struct RaftLog: Sendable {
    private(set) var snapshot: RaftSnapshot?
    private(set) var batches: [RaftBatch]

    init(snapshot: RaftSnapshot?, batches: [RaftBatch]) {
        self.snapshot = snapshot
        self.batches = []
        let start = snapshot?.id.offset ?? 0
        // Keep only the consecutive prefix that continues the snapshot: a driver that loaded a torn tail or stale
        // batches the snapshot covers must not break the invariants.
        var expected = start
        for batch in batches where batch.baseOffset >= start {
            guard batch.baseOffset == expected, batch.epoch >= (self.batches.last?.epoch ?? snapshot?.id.epoch ?? 0)
            else { break }
            self.batches.append(batch)
            expected = batch.nextOffset
        }
    }

    /// The first offset held as batches (the snapshot's end, or 0).
    var startOffset: Int64 { snapshot?.id.offset ?? 0 }

    /// The offset after the last batch.
    var endOffset: Int64 { batches.last?.nextOffset ?? startOffset }

    /// The epoch of the last record (the snapshot's when no batch follows it; 0 for an empty log).
    var lastEpoch: Int32 { batches.last?.epoch ?? snapshot?.id.epoch ?? 0 }

    /// The log's end and last epoch: what Vote compares.
    var lastOffsetAndEpoch: OffsetAndEpoch { OffsetAndEpoch(offset: endOffset, epoch: lastEpoch) }

    /// The index in `batches` of the batch holding `offset`, if held.
    func index(containing offset: Int64) -> Int? {
        guard offset >= startOffset, offset < endOffset else { return nil }
        var low = 0
        var high = batches.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let batch = batches[middle]
            if offset < batch.baseOffset {
                high = middle - 1
            } else if offset > batch.lastOffset {
                low = middle + 1
            } else {
                return middle
            }
        }
        return nil
    }

    /// The epoch of the record just before `offset` (what a fetcher at `offset` sends as `lastFetchedEpoch`).
    func epoch(before offset: Int64) -> Int32? {
        if offset == startOffset { return snapshot?.id.epoch ?? 0 }
        guard let index = index(containing: offset - 1) else { return nil }
        return batches[index].epoch
    }

    /// The end offset of `epoch` in this log (Kafka's `endOffsetForEpoch`): the largest epoch not above `epoch`
    /// that the log holds, and the offset where it ends. Nil when the answer lies before the snapshot, where the
    /// epoch history is gone.
    func endOffset(forEpoch epoch: Int32) -> OffsetAndEpoch? {
        // Batches after the first one of a higher epoch cannot matter: scan backwards to the last batch <= epoch.
        var index = batches.count - 1
        while index >= 0, batches[index].epoch > epoch { index -= 1 }
        if index >= 0 {
            let found = batches[index].epoch
            // The end of that epoch is the base of the next (higher) epoch's first batch, or the log end.
            let end = index + 1 < batches.count ? batches[index + 1].baseOffset : endOffset
            return OffsetAndEpoch(offset: end, epoch: found)
        }
        if let snapshot, snapshot.id.epoch <= epoch {
            // Everything up to the snapshot is of epochs <= its epoch; only an exact match is certain.
            if snapshot.id.epoch == epoch { return OffsetAndEpoch(offset: startOffset, epoch: epoch) }
            return nil
        }
        if snapshot == nil { return OffsetAndEpoch(offset: 0, epoch: 0) }
        return nil
    }

    /// Batches from `offset` (a batch boundary) up to `endOffset`, at least one, within roughly `maxBytes`.
    func batches(from offset: Int64, upTo end: Int64, maxBytes: Int) -> [RaftBatch] {
        guard var index = self.index(containing: offset) else { return [] }
        var result: [RaftBatch] = []
        var size = 0
        while index < batches.count, batches[index].baseOffset < end {
            let batch = batches[index]
            size += batch.estimatedSize
            if !result.isEmpty, size > maxBytes { break }
            result.append(batch)
            index += 1
        }
        return result
    }

    /// The batches holding offsets in `from..<to`, whole (commit hands batches over whole).
    func batches(in range: Range<Int64>) -> [RaftBatch] {
        guard !range.isEmpty, var index = self.index(containing: range.lowerBound) else { return [] }
        var result: [RaftBatch] = []
        while index < batches.count, batches[index].baseOffset < range.upperBound {
            result.append(batches[index])
            index += 1
        }
        return result
    }

    mutating func append(_ batch: RaftBatch) {
        precondition(batch.baseOffset == endOffset, "append at \(batch.baseOffset), log ends at \(endOffset)")
        precondition(batch.epoch >= lastEpoch, "append of epoch \(batch.epoch) after epoch \(lastEpoch)")
        batches.append(batch)
    }

    /// Drops every record at and after `offset`. Truncation lands on a batch boundary: a batch that straddles
    /// `offset` goes whole (the fetcher re-fetches it).
    mutating func truncate(to offset: Int64) {
        while let last = batches.last, last.lastOffset >= offset { batches.removeLast() }
    }

    /// Makes `snapshot` (taken here, of the committed log) the latest one and drops the batches it covers. Its end
    /// must be a batch boundary of this log with the epoch of the record before it.
    mutating func adopt(_ snapshot: RaftSnapshot) {
        let end = snapshot.id.offset
        precondition(end > startOffset && end <= endOffset, "snapshot \(snapshot.id) outside the log")
        precondition(epoch(before: end) == snapshot.id.epoch, "snapshot \(snapshot.id) does not match the log")
        batches.removeAll { $0.nextOffset <= end }
        if let first = batches.first {
            precondition(first.baseOffset == end, "snapshot end \(end) inside the batch at \(first.baseOffset)")
        }
        self.snapshot = snapshot
    }

    /// Replaces everything with the leader's snapshot: the log restarts empty at its end.
    mutating func restart(at snapshot: RaftSnapshot) {
        batches.removeAll()
        self.snapshot = snapshot
    }
}
