import KafkaProtocol

/// The leader of `epoch`: what it knows of each replica's progress, and the timers of check-quorum and
/// BeginQuorumEpoch.
struct LeaderState: Sendable, Equatable {
    /// One replica's fetch progress, as the leader saw it.
    struct Progress: Sendable, Equatable {
        var key: ReplicaKey
        /// The replica's log end as its last fetch said (its fetch offset; durable on the follower).
        var endOffset: Int64?
        var lastFetchTimestamp: Int64?
        var lastCaughtUpTimestamp: Int64?
        /// The high watermark the last answer to it carried: a fetch is parked only if it already knows the
        /// current one.
        var lastSentHighWatermark: Int64?
    }

    /// A Fetch parked until new data, a high-watermark change, or `deadline`.
    struct ParkedFetch: Sendable, Equatable {
        var request: RaftMessage.FetchRequest
        var deadline: Int64
    }

    /// A voter change (KIP-853) appended and not yet committed: its request is answered once it commits.
    struct PendingVoterChange: Sendable, Equatable {
        enum Kind: Sendable, Equatable { case add, remove, update }
        var kind: Kind
        var requester: NodeID
        var correlationID: Int32
        /// The offset of the `VotersRecord`: committed once the high watermark passes it.
        var offset: Int64
        /// A leader that removed itself resigns once the change commits.
        var removesLeader: Bool
    }

    var epoch: Int32
    /// The offset of this epoch's LeaderChange batch: nothing commits before it.
    var epochStartOffset: Int64
    /// The voters that granted the winning election (recorded in the LeaderChange record).
    var grantingVoters: Set<NodeID>
    var voters: [NodeID: Progress]
    var observers: [NodeID: Progress]
    /// Voters (other than the leader) that fetched since the check-quorum timer was last reset.
    var fetchedVoters: Set<NodeID>
    var checkQuorumDeadline: Int64
    /// Voters that have not acknowledged BeginQuorumEpoch (nor fetched) yet.
    var unackedVoters: Set<NodeID>
    /// When BeginQuorumEpoch goes to every voter again (every fetch timeout / 2, as Kafka): a voter stuck at a
    /// higher epoch (a lost candidacy it cannot win with its log) answers with that epoch, and the leader steps down
    /// so that the quorum moves past it; otherwise it would never hear from this leader again.
    var beginQuorumEpochDeadline: Int64 = 0
    var parkedFetches: [NodeID: ParkedFetch]
    var pendingVoterChange: PendingVoterChange? = nil
}
