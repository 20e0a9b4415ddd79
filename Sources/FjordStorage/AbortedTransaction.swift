import KafkaProtocol

/// One aborted transaction of a partition, as Kafka's transaction index (`TransactionIndex`) records it.
///
/// A read_committed consumer gets `(producerID, firstOffset)` of every aborted transaction overlapping what it
/// fetched and drops that producer's records from `firstOffset` until it meets the ABORT marker (`lastOffset`).
public struct AbortedTransaction: Sendable, Hashable {
    /// The producer whose transaction was aborted.
    public var producerID: ProducerID
    /// The offset of the transaction's first record in this partition.
    public var firstOffset: Int64
    /// The offset of the ABORT marker that ended it.
    public var lastOffset: Int64
    /// The partition's last stable offset right after the abort: the first offset of the earliest transaction
    /// still open then, or `lastOffset + 1`. A search may stop at an entry whose value reaches its upper bound,
    /// since every transaction that started below that bound had ended by then.
    public var lastStableOffset: Int64

    public init(producerID: ProducerID, firstOffset: Int64, lastOffset: Int64, lastStableOffset: Int64) {
        self.producerID = producerID
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.lastStableOffset = lastStableOffset
    }
}
