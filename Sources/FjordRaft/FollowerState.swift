import KafkaProtocol

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
    /// The voter set the leader keeps with the snapshot (KIP-853).
    var voters: VotersRecord? = nil
}
