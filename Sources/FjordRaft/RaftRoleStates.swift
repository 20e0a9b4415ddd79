import KafkaProtocol

// The state each role keeps. `RaftRole` (RaftRole+Transitions.swift) is the only place that moves between them.

/// No leader and no vote in `epoch` (after start-up, or after seeing a higher epoch). A voter starts an election
/// when `electionDeadline` passes; an observer keeps asking voters who leads.
struct UnattachedState: Sendable, Equatable {
    var epoch: Int32
    var electionDeadline: Int64
}

/// Voted for `votedKey` in `epoch` (persisted before the grant was sent); waits for that candidate to win.
struct VotedState: Sendable, Equatable {
    var epoch: Int32
    var votedKey: ReplicaKey
    var electionDeadline: Int64
}

/// KIP-996 pre-vote: asks the voters whether it could win at `epoch + 1` without bumping or persisting anything.
/// `retained` is the quorum state it came from (still the persisted one). After a lost round it backs off until
/// `backoffUntil`, then asks again.
struct ProspectiveState: Sendable, Equatable {
    var epoch: Int32
    var retained: QuorumState
    var granted: Set<NodeID>
    var rejected: Set<NodeID>
    var electionDeadline: Int64
    var backoffUntil: Int64?
    var retries: Int
}

/// Runs for leader of `epoch` (persisted: voted for itself). Backs off after a lost round, then goes back to
/// prospective.
struct CandidateState: Sendable, Equatable {
    var epoch: Int32
    var granted: Set<NodeID>
    var rejected: Set<NodeID>
    var electionDeadline: Int64
    var backoffUntil: Int64?
    var retries: Int
}

/// Fetches from `leaderID` in `epoch`. `fetchDeadline` is the fetch timeout (a voter starts an election when it
/// passes; an observer looks for the leader again).
struct FollowerState: Sendable, Equatable {
    var epoch: Int32
    var leaderID: NodeID
    var fetchDeadline: Int64
    /// The last time a Fetch to the leader succeeded (for pre-vote rejection: "I have a live leader").
    var lastLeaderContact: Int64?
    /// A snapshot being downloaded from the leader: its id, the bytes so far.
    var snapshotDownload: SnapshotDownload?
    /// Do not fetch again before this (retry backoff after an error).
    var backoffUntil: Int64?
    /// The leader announced its resignation (EndQuorumEpoch): answers it sent before that, arriving late, must not
    /// re-arm the shortened fetch timeout nor count as contact against pre-votes.
    var leaderResigned = false
}

extension FollowerState {
    /// A successful answer from the leader: it is alive, the fetch timeout starts over — unless it resigned.
    mutating func noteLeaderContact(at now: Int64, fetchTimeoutMs: Int64) {
        guard !leaderResigned else { return }
        lastLeaderContact = now
        fetchDeadline = now + fetchTimeoutMs
    }
}

/// A follower's partly downloaded snapshot.
struct SnapshotDownload: Sendable, Equatable {
    var id: OffsetAndEpoch
    var bytes: [UInt8]
}

/// Leads `epoch`. See LeaderState.swift.

/// A leader that resigned (graceful shutdown or lost check-quorum): answers fetches no more, keeps telling the
/// voters with EndQuorumEpoch until they acknowledge, and starts an election when `electionDeadline` passes.
struct ResignedState: Sendable, Equatable {
    var epoch: Int32
    var unackedVoters: Set<NodeID>
    var preferredSuccessors: [ReplicaKey]
    var electionDeadline: Int64
}
