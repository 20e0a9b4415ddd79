import FjordRaft
import KafkaProtocol

/// When the invariants are checked: a node's own checks after each of its steps, the cluster-wide ones after every
/// event, and a from-scratch pass plus the catch-up check at the end of a run.
extension RaftSimulation {
    /// After a step (or start) of `id`: its role and high watermark, its core against its disk, its log against the
    /// committed log.
    mutating func checkNode(_ id: NodeID) throws(InvariantViolation) {
        let node = nodes[id]!
        if let raft = node.raft {
            try checker.observeRole(of: id, raft.role)
            try checker.observeHighWatermark(raft.highWatermark, of: id)
            try checker.checkCoreMatchesDisk(
                of: id, logEndOffset: raft.logEndOffset, persistedEndOffset: raft.persistedLogEndOffset,
                disk: node.disk)
        }
        try checker.verifyLog(of: id, disk: node.disk)
    }

    /// After every event: durability on a majority, and liveness.
    mutating func checkAfterEvent() throws(InvariantViolation) {
        if durabilityCheckedAt != (durableChanges, checker.ledger.endOffset) {
            try checker.checkCommittedDurable { nodes[$0]!.disk }
            durabilityCheckedAt = (durableChanges, checker.ledger.endOffset)
        }
        for (_, entry) in checker.takeNewCommittedEntries() { liveness.committed(entry, now: now) }
        try liveness.check(now: now) { describeVoters() }
    }

    /// At the end of a seeded run: everything again from scratch, and every running node has applied what was
    /// committed when the final calm phase had lasted the liveness bound.
    mutating func checkAtEnd() throws(InvariantViolation) {
        for id in parameters.nodeIDs { try checker.verifyFromScratch(of: id, node: nodes[id]!) }
        guard let catchUpTarget else { return }
        for id in parameters.nodeIDs where nodes[id]!.isUp {
            let applied = nodes[id]!.stateMachine.appliedEndOffset
            guard applied >= catchUpTarget else {
                throw InvariantViolation(
                    "everyReplicaCatchesUp",
                    "node \(id) applied up to \(applied) by \(now) ms, but \(catchUpTarget) was committed "
                        + "\(parameters.catchUpMs) ms earlier on a calm, healed network: \(describeVoters())")
            }
        }
    }

    /// Each node's role, log end, high watermark and applied end.
    func describeVoters() -> String {
        parameters.nodeIDs.map { id in
            let node = nodes[id]!
            guard let raft = node.raft else { return "node \(id) down" }
            return
                "node \(id) \(raft.role) log end \(raft.logEndOffset) hw \(raft.highWatermark.map(String.init) ?? "?") "
                + "applied \(node.stateMachine.appliedEndOffset)"
        }.joined(separator: "; ")
    }
}

extension InvariantChecker {
    /// The incremental checks once more without their cursors: the node's whole log below its high watermark, its
    /// state machine and its snapshot against the committed log.
    func verifyFromScratch(of id: NodeID, node: SimulatedNode) throws(InvariantViolation) {
        let history = histories[id]!
        func compare(_ entry: LogEntry, at offset: Int64, _ source: String) throws(InvariantViolation) {
            guard let committed = ledger.entry(at: offset) else {
                throw InvariantViolation("committedPrefix", "no committed entry is known at \(offset), below \(source)")
            }
            guard committed == entry else {
                throw InvariantViolation(
                    "committedPrefix", "\(source) holds \(entry) at \(offset), but \(committed) was committed there")
            }
        }
        let end = min(history.maxHighWatermark, node.disk.endOffset)
        var offset = node.disk.startOffset
        while offset < end {
            try compare(node.disk.entry(at: offset)!, at: offset, "node \(id)'s log")
            offset += 1
        }
        for (index, entry) in node.stateMachine.entries.enumerated() {
            try compare(entry, at: Int64(index), "node \(id)'s state machine")
        }
        // A snapshot that is the start of the (just compared) state machine's encoding holds the same entries.
        if let snapshot = node.disk.snapshot, !(node.isUp && node.stateMachine.encodingStarts(with: snapshot.bytes)) {
            for (index, entry) in try SimulatedStateMachine(snapshot: snapshot).entries.enumerated() {
                try compare(entry, at: Int64(index), "node \(id)'s snapshot \(snapshot.id)")
            }
        }
    }
}
