import FjordRaft
import KafkaProtocol

/// The committed log's invariants: every node's log agrees with it below the node's high watermark, nothing
/// committed is truncated or lost from a majority's disks, and each state machine applies it once, in order.
extension InvariantChecker {
    // MARK: committedPrefix

    /// Every entry `node`'s log holds below the largest high watermark it ever had is the committed one (a node's
    /// log may differ from the committed log only above its own high watermark: an uncommitted tail it will
    /// truncate). Entries below the snapshot were checked when the snapshot was.
    mutating func verifyLog(of node: NodeID, disk: SimulatedDisk) throws(InvariantViolation) {
        var history = histories[node]!
        let end = min(history.maxHighWatermark, disk.endOffset)
        var offset = max(history.verifiedEnd, disk.startOffset)
        while offset < end {
            guard let entry = disk.entry(at: offset) else { break }
            try ledger.record(entry, at: offset, source: "node \(node)'s log")
            offset += 1
        }
        history.verifiedEnd = max(history.verifiedEnd, offset)
        histories[node] = history
    }

    // MARK: committedNeverTruncated

    /// A truncation never drops an entry below the node's high watermark (of any incarnation): those are committed.
    func checkTruncation(of node: NodeID, toEndOffset offset: Int64, disk: SimulatedDisk) throws(InvariantViolation) {
        let committedEnd = min(histories[node]!.maxHighWatermark, disk.endOffset)
        guard offset >= committedEnd else {
            throw InvariantViolation(
                "committedNeverTruncated",
                "node \(node) truncates its log to \(offset), below its committed end \(committedEnd)")
        }
    }

    /// The node's log lost or replaced entries from `offset` on (truncation, crash, installed snapshot): they are
    /// compared again when they come back.
    mutating func logRewound(of node: NodeID, to offset: Int64) {
        histories[node]!.verifiedEnd = min(histories[node]!.verifiedEnd, offset)
        histories[node]!.durableCoverage = min(histories[node]!.durableCoverage, offset)
    }

    // MARK: committedDurable

    /// Every committed entry is in the durable log or durable snapshot of a majority of voters (crashed ones
    /// included: their disks come back), so no crash can lose it.
    mutating func checkCommittedDurable(disk: (NodeID) -> SimulatedDisk) throws(InvariantViolation) {
        var holders: [NodeID] = []
        for voter in voters {
            let coverage = advanceCoverage(of: voter, disk: disk(voter))
            if coverage >= ledger.endOffset { holders.append(voter) }
        }
        guard holders.count >= majority else {
            let coverage = voters.map { "node \($0): \(histories[$0]!.durableCoverage)" }.joined(separator: ", ")
            throw InvariantViolation(
                "committedDurable",
                "the committed log ends at \(ledger.endOffset) but only \(holders.sorted()) hold it durably "
                    + "(durable committed prefix per voter: \(coverage))")
        }
    }

    private mutating func advanceCoverage(of node: NodeID, disk: SimulatedDisk) -> Int64 {
        var coverage = min(histories[node]!.durableCoverage, max(disk.snapshotEndOffset, disk.durableEndOffset))
        while coverage < ledger.endOffset, let committed = ledger.entry(at: coverage) {
            if coverage < disk.snapshotEndOffset {
                coverage = disk.snapshotEndOffset
            } else if coverage < disk.durableEndOffset, disk.entry(at: coverage) == committed {
                coverage += 1
            } else {
                break
            }
        }
        histories[node]!.durableCoverage = coverage
        return coverage
    }

    // MARK: stateMachineExactlyOnce

    /// `.commit` hands over batches that continue the state machine exactly (no gap, nothing twice), all below the
    /// high watermark it announces, each entry the committed one.
    mutating func checkCommit(
        of node: NodeID, highWatermark: Int64, batches: [RaftBatch], stateMachine: SimulatedStateMachine
    ) throws(InvariantViolation) {
        try observeHighWatermark(highWatermark, of: node)
        var next = stateMachine.appliedEndOffset
        for batch in batches {
            guard batch.baseOffset == next else {
                let what = batch.baseOffset < next ? "again" : "with a gap"
                throw InvariantViolation(
                    "stateMachineExactlyOnce",
                    "node \(node) commits the batch \(batch.baseOffset)...\(batch.lastOffset) \(what): its state "
                        + "machine has applied up to \(next)")
            }
            guard batch.nextOffset <= highWatermark else {
                throw InvariantViolation(
                    "stateMachineExactlyOnce",
                    "node \(node) commits the batch \(batch.baseOffset)...\(batch.lastOffset) above the high "
                        + "watermark \(highWatermark)")
            }
            for offset in batch.baseOffset...batch.lastOffset {
                try ledger.record(batch.entry(at: offset), at: offset, source: "node \(node)'s state machine")
            }
            next = batch.nextOffset
        }
    }

    // MARK: snapshotCommitted

    /// A snapshot (installed from the leader, or loaded at a restart) holds only committed entries, each the
    /// committed one; an installed one never takes the state machine back, and a leader never installs one.
    mutating func checkSnapshot(
        _ snapshot: RaftSnapshot, installedOn node: NodeID, role: RaftRoleSummary?,
        replacing stateMachine: SimulatedStateMachine?
    ) throws(InvariantViolation) -> SimulatedStateMachine {
        if let role, role.name == .leader {
            throw InvariantViolation(
                "snapshotCommitted", "node \(node) installs the snapshot \(snapshot.id) as \(role)")
        }
        if let stateMachine, snapshot.id.offset < stateMachine.appliedEndOffset {
            throw InvariantViolation(
                "snapshotCommitted",
                "node \(node) installs the snapshot \(snapshot.id) over a state machine applied up to "
                    + "\(stateMachine.appliedEndOffset)")
        }
        guard snapshot.id.offset <= ledger.endOffset else {
            throw InvariantViolation(
                "snapshotCommitted",
                "node \(node) gets the snapshot \(snapshot.id) beyond the committed end \(ledger.endOffset)")
        }
        let restored = try SimulatedStateMachine(snapshot: snapshot)
        for (index, entry) in restored.entries.enumerated() {
            try ledger.record(entry, at: Int64(index), source: "the snapshot \(snapshot.id) of node \(node)")
        }
        return restored
    }

    // MARK: coreMatchesDisk

    /// The core's idea of its log is what the driver wrote: the same end, and no more persisted than was fsynced.
    func checkCoreMatchesDisk(
        of node: NodeID, logEndOffset: Int64, persistedEndOffset: Int64, disk: SimulatedDisk
    ) throws(InvariantViolation) {
        guard logEndOffset == disk.endOffset else {
            throw InvariantViolation(
                "coreMatchesDisk",
                "node \(node)'s core says its log ends at \(logEndOffset), its disk at \(disk.endOffset)")
        }
        guard persistedEndOffset <= max(disk.durableEndOffset, disk.snapshotEndOffset) else {
            throw InvariantViolation(
                "coreMatchesDisk",
                "node \(node)'s core counts its log persisted up to \(persistedEndOffset), fsynced only up to "
                    + "\(disk.durableEndOffset)")
        }
    }
}
