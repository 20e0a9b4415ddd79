import FjordRaft

/// One node's disk as the simulated driver keeps it: `quorum-state`, the latest snapshot and the log's batches, with
/// the fsynced prefix of the log marked. What survives a crash is exactly what a real driver could count on:
///
/// - `quorum-state` and snapshots are written and fsynced at once (`.persistQuorumState` must be durable before the
///   next output; a snapshot file is complete or absent);
/// - appended batches are UNSYNCED until the simulated fsync completes (`fsync()`); a crash keeps the fsynced prefix
///   plus a random whole-batch prefix of the unsynced tail (pages the kernel happened to write back; Kafka's
///   recovery drops a torn last batch, so nothing partial survives);
/// - truncation, prefix deletion and snapshot installation are durable at once (the real driver fsyncs them before
///   it continues).
///
/// Requests the log cannot honour (a gap, a truncation inside a batch, deleting a prefix no snapshot covers) are
/// the core's bugs and throw `logContract` violations.
struct SimulatedDisk {
    private(set) var quorumState: QuorumState?
    /// The latest complete snapshot.
    private(set) var snapshot: RaftSnapshot?
    /// Consecutive batches from `startOffset`.
    private(set) var batches: [RaftBatch] = []
    private(set) var startOffset: Int64 = 0
    /// The log is fsynced below this offset.
    private(set) var durableEndOffset: Int64 = 0
    /// What a crash really keeps: `durableEndOffset` unless the disk lied about an fsync (a test's broken disk).
    private var trulyDurableEndOffset: Int64 = 0

    var endOffset: Int64 { batches.last?.nextOffset ?? startOffset }
    /// Everything below this offset is in the snapshot (0 without one).
    var snapshotEndOffset: Int64 { snapshot?.id.offset ?? 0 }
    var hasUnsyncedBatches: Bool { durableEndOffset < endOffset }

    /// The entry the log holds at `offset` (synced or not), if any.
    func entry(at offset: Int64) -> LogEntry? {
        guard offset >= startOffset, offset < endOffset else { return nil }
        var low = 0
        var high = batches.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if offset < batches[middle].baseOffset {
                high = middle - 1
            } else if offset > batches[middle].lastOffset {
                low = middle + 1
            } else {
                return batches[middle].entry(at: offset)
            }
        }
        return nil
    }

    mutating func persist(_ state: QuorumState) { quorumState = state }

    mutating func append(_ newBatches: [RaftBatch]) throws(InvariantViolation) {
        for batch in newBatches {
            guard batch.baseOffset == endOffset else {
                throw InvariantViolation(
                    "logContract", "appendLog of a batch at \(batch.baseOffset) to a log ending at \(endOffset)")
            }
            let lastEpoch = batches.last?.epoch ?? snapshot?.id.epoch ?? 0
            guard batch.epoch >= lastEpoch else {
                throw InvariantViolation(
                    "logContract", "appendLog of epoch \(batch.epoch) at \(batch.baseOffset) after epoch \(lastEpoch)")
            }
            batches.append(batch)
        }
    }

    /// Drops every batch at and after `offset`, which must be a batch boundary (a record batch cannot be split).
    mutating func truncate(toEndOffset offset: Int64) throws(InvariantViolation) {
        if let index = batches.firstIndex(where: { $0.nextOffset > offset }) {
            guard batches[index].baseOffset >= offset else {
                throw InvariantViolation(
                    "logContract",
                    "truncateLog(toEndOffset: \(offset)) inside the batch "
                        + "\(batches[index].baseOffset)...\(batches[index].lastOffset)"
                )
            }
            batches.removeSubrange(index...)
        }
        durableEndOffset = min(durableEndOffset, endOffset)
        trulyDurableEndOffset = min(trulyDurableEndOffset, endOffset)
    }

    /// The simulated fsync completes: everything appended so far is durable. Returns the durable end offset. A
    /// lying disk (`honest: false`) claims so, but a crash loses what it claimed.
    mutating func fsync(honest: Bool = true) -> Int64 {
        durableEndOffset = endOffset
        if honest { trulyDurableEndOffset = endOffset }
        return durableEndOffset
    }

    /// The driver's own snapshot of its committed state machine (`.snapshotTaken`).
    mutating func write(_ newSnapshot: RaftSnapshot) {
        if newSnapshot.id.offset > snapshotEndOffset { snapshot = newSnapshot }
    }

    /// A follower replaces its log with the leader's snapshot: the log restarts at the snapshot's end.
    mutating func install(_ newSnapshot: RaftSnapshot) {
        snapshot = newSnapshot
        batches = []
        startOffset = newSnapshot.id.offset
        durableEndOffset = startOffset
        trulyDurableEndOffset = startOffset
    }

    /// Deletes the batches wholly before `offset`, which the latest snapshot must cover.
    mutating func deleteLogPrefix(before offset: Int64) throws(InvariantViolation) {
        guard offset <= snapshotEndOffset else {
            throw InvariantViolation(
                "logContract", "deleteLogPrefix(before: \(offset)) but the latest snapshot ends at \(snapshotEndOffset)"
            )
        }
        let end = endOffset
        batches.removeAll { $0.nextOffset <= offset }
        startOffset = batches.first?.baseOffset ?? max(startOffset, min(offset, end))
    }

    /// The process dies: the unsynced tail is lost except its first `keptUnsyncedBatches` whole batches. Returns the
    /// lowest offset that was lost (the log end when nothing was).
    mutating func crash(keptUnsyncedBatches: Int) -> Int64 {
        let firstUnsynced = batches.firstIndex { $0.baseOffset >= trulyDurableEndOffset } ?? batches.count
        let keep = min(batches.count, firstUnsynced + keptUnsyncedBatches)
        if keep < batches.count { batches.removeSubrange(keep...) }
        durableEndOffset = endOffset
        trulyDurableEndOffset = endOffset
        return endOffset
    }

    /// What a restarting node is given: the quorum state, the snapshot and the batches after it. The driver forgets
    /// the batches the snapshot covers (the core would only skip them).
    mutating func restart() throws(InvariantViolation) -> RaftPersistentState {
        precondition(!hasUnsyncedBatches, "restart without a crash")
        let snapshotEnd = snapshotEndOffset
        if let straddling = batches.first(where: { $0.baseOffset < snapshotEnd && $0.nextOffset > snapshotEnd }) {
            throw InvariantViolation(
                "logContract",
                "the batch \(straddling.baseOffset)...\(straddling.lastOffset) straddles the snapshot end "
                    + "\(snapshotEnd)"
            )
        }
        batches.removeAll { $0.baseOffset < snapshotEnd }
        startOffset = max(startOffset, snapshotEnd)
        durableEndOffset = endOffset
        trulyDurableEndOffset = endOffset
        return RaftPersistentState(quorumState: quorumState, snapshot: snapshot, log: batches)
    }
}
