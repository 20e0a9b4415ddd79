import FjordRaft
import KafkaProtocol

/// The Raft simulation's safety invariants, each a named check that throws an `InvariantViolation`. The checker is
/// fed what the simulated driver sees (roles, persisted quorum states, high watermarks, the disk, `.commit`
/// batches, snapshots) and keeps the history it needs, so a unit test can feed it a bad history directly.
///
/// The checks run after every simulation event and are incremental (cursors per node), which makes them as strong as
/// a full comparison after every event without its cost; `verifyEverything` repeats them from scratch at the end.
///
/// What Kafka promises about the high watermark, and what is checked (`highWatermarkMonotonic`): the high watermark
/// is not persisted; a restarted node knows none until its leader tells it (or, as leader, it commits its epoch's
/// first batch). Within one incarnation it never goes back and, once known, never becomes unknown. Its state machine
/// restarts from its latest snapshot (KRaft's listener gets `handleLoadSnapshot`, then `handleCommit` from there), so
/// after a restart the state machine never holds less than that snapshot, and the first high watermark the node
/// learns is not below it. Entries above the snapshot are handed out again, which the state-machine check treats as
/// a fresh, in-order apply.
struct InvariantChecker {
    struct NodeHistory {
        var isVoter: Bool
        /// The high watermark of the current incarnation (nil until learned).
        var highWatermark: Int64?
        /// The end of the snapshot the current incarnation started from.
        var restartFloor: Int64 = 0
        /// The largest high watermark of any incarnation: every entry this node holds below it is committed.
        var maxHighWatermark: Int64 = 0
        /// The latest persisted quorum state.
        var quorumState: QuorumState?
        /// The first vote persisted in `quorumState`'s epoch.
        var voteInEpoch: ReplicaKey?
        /// The node's log below this offset was compared with the ledger.
        var verifiedEnd: Int64 = 0
        /// The node durably holds the committed log below this offset (log or snapshot), as far as checked.
        var durableCoverage: Int64 = 0
    }

    var ledger = CommittedLedger()
    /// The leader of each epoch, as first claimed (by the leader itself or by a node that follows it).
    var leaders: [Int32: NodeID] = [:]
    var histories: [NodeID: NodeHistory]
    let voters: [NodeID]

    init(voters: [NodeID], observers: [NodeID]) {
        self.voters = voters
        histories = [:]
        for voter in voters { histories[voter] = NodeHistory(isVoter: true) }
        for observer in observers { histories[observer] = NodeHistory(isVoter: false) }
    }

    var majority: Int { voters.count / 2 + 1 }

    /// The entries first seen committed since the last call (liveness watches which proposals commit).
    mutating func takeNewCommittedEntries() -> [(offset: Int64, entry: LogEntry)] { ledger.takeNewEntries() }

    // MARK: singleLeaderPerEpoch

    /// At most one leader per epoch over the whole run: the leader's own claim and every follower's (and persisted
    /// quorum state's) idea of the epoch's leader must name the same node.
    mutating func observeRole(of node: NodeID, _ role: RaftRoleSummary) throws(InvariantViolation) {
        if role.name == .leader || role.name == .resigned {
            try claimLeadership(epoch: role.epoch, leader: node, claimedBy: node, how: "is \(role)")
        }
        if let leader = role.leaderID {
            try claimLeadership(epoch: role.epoch, leader: leader, claimedBy: node, how: "is \(role)")
        }
    }

    private mutating func claimLeadership(
        epoch: Int32, leader: NodeID, claimedBy node: NodeID, how: @autoclosure () -> String
    ) throws(InvariantViolation) {
        if let known = leaders[epoch] {
            guard known == leader else {
                throw InvariantViolation(
                    "singleLeaderPerEpoch", "node \(node) \(how()), but node \(known) already led epoch \(epoch)")
            }
            return
        }
        leaders[epoch] = leader
    }

    // MARK: epochMonotonic, oneVotePerEpoch

    /// The persisted epoch never goes back (across restarts: it is durable), a node votes for at most one replica per
    /// epoch, and a persisted leader counts as a claim for `singleLeaderPerEpoch`.
    mutating func observePersisted(_ state: QuorumState, of node: NodeID) throws(InvariantViolation) {
        var history = histories[node]!
        if let previous = history.quorumState {
            guard state.leaderEpoch >= previous.leaderEpoch else {
                throw InvariantViolation(
                    "epochMonotonic",
                    "node \(node) persisted epoch \(state.leaderEpoch) after epoch \(previous.leaderEpoch)")
            }
            if state.leaderEpoch > previous.leaderEpoch { history.voteInEpoch = nil }
        }
        if let vote = state.votedKey {
            if let earlier = history.voteInEpoch, earlier != vote {
                throw InvariantViolation(
                    "oneVotePerEpoch",
                    "node \(node) persisted a vote for \(vote) in epoch \(state.leaderEpoch) after voting for "
                        + "\(earlier)"
                )
            }
            history.voteInEpoch = vote
        }
        history.quorumState = state
        histories[node] = history
        if let leader = state.leaderID {
            try claimLeadership(
                epoch: state.leaderEpoch, leader: leader, claimedBy: node, how: "persisted leader \(leader)")
        }
    }

    // MARK: highWatermarkMonotonic

    /// A new incarnation of `node` starts from a snapshot ending at `snapshotEnd` and knows no high watermark.
    mutating func nodeRestarted(_ node: NodeID, snapshotEnd: Int64) {
        histories[node]!.highWatermark = nil
        histories[node]!.restartFloor = snapshotEnd
    }

    /// Within one incarnation the high watermark never decreases nor becomes unknown again; the first one a
    /// restarted node learns is not below the snapshot it restarted from.
    mutating func observeHighWatermark(_ highWatermark: Int64?, of node: NodeID) throws(InvariantViolation) {
        var history = histories[node]!
        defer { histories[node] = history }
        guard let highWatermark else {
            if let known = history.highWatermark {
                throw InvariantViolation(
                    "highWatermarkMonotonic", "node \(node)'s high watermark \(known) became unknown")
            }
            return
        }
        if let known = history.highWatermark, highWatermark < known {
            throw InvariantViolation(
                "highWatermarkMonotonic", "node \(node)'s high watermark went back from \(known) to \(highWatermark)")
        }
        if history.highWatermark == nil, highWatermark < history.restartFloor {
            throw InvariantViolation(
                "highWatermarkMonotonic",
                "node \(node) restarted from a snapshot ending at \(history.restartFloor) but learned high watermark "
                    + "\(highWatermark)")
        }
        history.highWatermark = highWatermark
        history.maxHighWatermark = max(history.maxHighWatermark, highWatermark)
        ledger.raiseEnd(to: highWatermark)
    }
}
