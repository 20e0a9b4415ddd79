import FjordGroups
import KafkaProtocol

/// Everything the coordinator knows of one transactional id: the fields of its `TransactionLogValue`.
public struct TransactionMetadata: Sendable, Equatable {
    public var transactionalID: String
    public var producerID: ProducerID
    public var producerEpoch: ProducerEpoch
    public var timeoutMs: Int32
    public var state: TransactionState
    /// The partitions written in the current transaction (empty outside one).
    public var partitions: Set<TopicPartition>
    /// When the current transaction began (its first AddPartitionsToTxn), -1 outside one.
    public var startTimestamp: Int64
    public var lastUpdateTimestamp: Int64

    public init(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, timeoutMs: Int32,
        state: TransactionState,
        partitions: Set<TopicPartition> = [], startTimestamp: Int64 = -1, lastUpdateTimestamp: Int64
    ) {
        self.transactionalID = transactionalID
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.timeoutMs = timeoutMs
        self.state = state
        self.partitions = partitions
        self.startTimestamp = startTimestamp
        self.lastUpdateTimestamp = lastUpdateTimestamp
    }

    /// The partitions in a stable order (records, markers, DescribeTransactions).
    public var sortedPartitions: [TopicPartition] { partitions.sorted() }
}
