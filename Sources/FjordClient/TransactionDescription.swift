/// A transactional id as ListTransactions and DescribeTransactions report it.
public struct TransactionDescription: Sendable, Hashable {
    public var transactionalID: String
    /// Kafka's state name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, ...
    public var state: String
    public var producerID: Int64
    /// -1 in a listing (ListTransactions does not carry it).
    public var producerEpoch: Int16
    /// 0 in a listing.
    public var timeoutMs: Int32
    /// When the open transaction began (ms since the epoch); -1 when none is open or in a listing.
    public var startTimeMs: Int64
    /// The partitions of the open transaction (empty in a listing).
    public var partitions: [TopicPartition]
    /// The broker that coordinates the id.
    public var coordinator: Int32
}

/// A producer a partition leader remembers (DescribeProducers): what `kafka-transactions.sh describe-producers`
/// shows to find a transaction that holds consumers back.
public struct ProducerState: Sendable, Hashable {
    public var producerID: Int64
    public var producerEpoch: Int32
    /// The sequence number of its last batch; -1 if none in this epoch.
    public var lastSequence: Int32
    public var lastTimestamp: Int64
    public var coordinatorEpoch: Int32
    /// The first offset of its open transaction in the partition, or -1.
    public var currentTransactionStartOffset: Int64
}
