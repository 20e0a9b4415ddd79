import KafkaProtocol

/// DescribeQuorum's content (API 55) as this node knows it. Replica progress is only known on the leader; other
/// nodes report what they know of themselves.
public struct QuorumDescription: Sendable, Equatable {
    /// One replica's progress: `logEndOffset` as last reported by its fetch (the leader's own: its log end), and
    /// the times of its last fetch and of the last fetch that reached the leader's end (nil: never).
    public struct Replica: Sendable, Equatable {
        public var key: ReplicaKey
        public var logEndOffset: Int64?
        public var lastFetchTimestamp: Int64?
        public var lastCaughtUpTimestamp: Int64?

        public init(key: ReplicaKey, logEndOffset: Int64?, lastFetchTimestamp: Int64?, lastCaughtUpTimestamp: Int64?) {
            self.key = key
            self.logEndOffset = logEndOffset
            self.lastFetchTimestamp = lastFetchTimestamp
            self.lastCaughtUpTimestamp = lastCaughtUpTimestamp
        }
    }

    public var leaderID: NodeID?
    public var leaderEpoch: Int32
    public var highWatermark: Int64?
    public var voters: [Replica]
    public var observers: [Replica]

    public init(leaderID: NodeID?, leaderEpoch: Int32, highWatermark: Int64?, voters: [Replica], observers: [Replica]) {
        self.leaderID = leaderID
        self.leaderEpoch = leaderEpoch
        self.highWatermark = highWatermark
        self.voters = voters
        self.observers = observers
    }
}
