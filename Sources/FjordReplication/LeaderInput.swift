import KafkaProtocol

/// What happens to a partition leader. Time is passed in (milliseconds of the driver's clock); the core reads no
/// clock.
public enum LeaderInput: Sendable, Hashable {
    /// Periodic: followers that fell behind leave the ISR (Kafka checks every `replica.lag.time.max.ms / 2`), and
    /// waiting acks=all produces past their deadline time out.
    case tick(now: Int64)
    /// The brokers that may not be in an ISR now: fenced, or in controlled shutdown (Kafka's
    /// `isReplicaIsrEligible`). The high watermark stops waiting for such a follower even while it counts as caught
    /// up, and it is not proposed for the ISR.
    case replicasIneligible(Set<NodeID>, now: Int64)
    /// The leader appended to its own log (a produce, a transaction marker); its log end is now `logEndOffset`.
    case appended(logEndOffset: Int64, now: Int64)
    /// Retention or DeleteRecords moved the leader's log start.
    case logStartOffsetMoved(Int64)
    /// A follower's Fetch for this partition; answered with `.answerFetch`.
    case followerFetch(FollowerFetch, now: Int64)
    /// The controller answered the AlterPartition `proposal` (or the driver gave up on it with an error code).
    case alterPartitionAnswered(AlterPartitionProposal, AlterPartitionAnswer, now: Int64)
    /// The controller changed the partition within this leader epoch (an ISR change it made itself, such as
    /// fencing a broker, or the record of this leader's own AlterPartition).
    case partitionChanged(PartitionRegistration, now: Int64)
    /// An acks=all produce appended up to `requiredOffset` (exclusive: its last offset + 1) waits for the high
    /// watermark; answered with `.completeProduce` by `deadline` at the latest.
    case awaitAcks(id: UInt64, requiredOffset: Int64, deadline: Int64, now: Int64)
}

/// A follower's fetch of one partition, as the Fetch request carries it.
public struct FollowerFetch: Sendable, Hashable {
    public var replicaID: NodeID
    /// The follower's broker epoch (Fetch v15 `ReplicaState.ReplicaEpoch`), -1 when not sent.
    public var brokerEpoch: Int64
    /// The leader epoch the follower believes current (nil: not sent, older versions).
    public var currentLeaderEpoch: LeaderEpoch?
    public var fetchOffset: Int64
    /// The epoch of the last batch in the follower's log (KIP-320); nil when it has none or does not send it.
    public var lastFetchedEpoch: LeaderEpoch?
    public var logStartOffset: Int64

    public init(
        replicaID: NodeID, brokerEpoch: Int64 = -1, currentLeaderEpoch: LeaderEpoch?, fetchOffset: Int64,
        lastFetchedEpoch: LeaderEpoch?, logStartOffset: Int64
    ) {
        self.replicaID = replicaID
        self.brokerEpoch = brokerEpoch
        self.currentLeaderEpoch = currentLeaderEpoch
        self.fetchOffset = fetchOffset
        self.lastFetchedEpoch = lastFetchedEpoch
        self.logStartOffset = logStartOffset
    }
}

/// The leader's answer to a follower's fetch of one partition.
public enum FetchAnswer: Sendable, Hashable {
    /// Send the records from `offset` (the fetch offset) on, with the leader's positions.
    case records(from: Int64, LeaderPositions)
    /// The follower's log diverges: it must truncate with this epoch and end offset before fetching again
    /// (KIP-320). No records.
    case divergingEpoch(EpochEndOffset, LeaderPositions)
    case error(ErrorCode)
}

/// The leader's high watermark, log start and log end, as a fetch answer carries them.
public struct LeaderPositions: Sendable, Hashable {
    public var highWatermark: Int64
    public var logStartOffset: Int64
    public var logEndOffset: Int64

    public init(highWatermark: Int64, logStartOffset: Int64, logEndOffset: Int64) {
        self.highWatermark = highWatermark
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
    }
}

/// What the driver carries out for a leader, in order.
public enum LeaderOutput: Sendable, Hashable {
    case answerFetch(replica: NodeID, FetchAnswer)
    /// Consumers may now read up to here (wake waiting fetches; checkpoint it lazily).
    case highWatermarkAdvanced(Int64)
    /// Send this AlterPartition to the controller (at most one is in flight per partition).
    case sendAlterPartition(AlterPartitionProposal)
    /// Answer the waiting acks=all produce `id` with `error` (NONE, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    /// REQUEST_TIMED_OUT, NOT_LEADER_OR_FOLLOWER).
    case completeProduce(id: UInt64, ErrorCode)
}
