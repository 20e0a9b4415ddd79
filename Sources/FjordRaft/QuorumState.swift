import KafkaProtocol

/// What the `quorum-state` file holds (fields of Kafka's `raft/QuorumStateData.json`): the latest epoch this node
/// knows, the leader of that epoch if known, and the replica it voted for in that epoch if any. It must be written
/// and fsynced before a vote is granted and whenever the epoch changes, so that a restarted node never votes twice
/// in one epoch nor goes back to an older one.
public struct QuorumState: Sendable, Equatable {
    public var leaderEpoch: Int32
    public var leaderID: NodeID?
    public var votedKey: ReplicaKey?

    public init(leaderEpoch: Int32, leaderID: NodeID? = nil, votedKey: ReplicaKey? = nil) {
        self.leaderEpoch = leaderEpoch
        self.leaderID = leaderID
        self.votedKey = votedKey
    }
}
