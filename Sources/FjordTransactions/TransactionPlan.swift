import FjordGroups
import KafkaProtocol

/// What a transaction command asks the driver to do, in this order: append `record` to `__transaction_state`
/// and replay it; write `markers`, then append and replay the manager's `completeTransaction` record; answer with
/// `error` (and the producer id and epoch, for InitProducerId). A failed append answers with the append's error.
public struct TransactionPlan: Sendable, Equatable {
    public var record: TransactionRecord?
    public var markers: TransactionMarkers?
    public var error: ErrorCode = .none
    public var producerID: ProducerID = -1
    public var producerEpoch: ProducerEpoch = -1

    public init(
        record: TransactionRecord? = nil, markers: TransactionMarkers? = nil, error: ErrorCode = .none,
        producerID: ProducerID = -1, producerEpoch: ProducerEpoch = -1
    ) {
        self.record = record
        self.markers = markers
        self.error = error
        self.producerID = producerID
        self.producerEpoch = producerEpoch
    }

    static func failure(_ error: ErrorCode) -> TransactionPlan { TransactionPlan(error: error) }
    static let success = TransactionPlan()
}

/// The COMMIT or ABORT markers that end a transaction in each of its partitions (Kafka's WriteTxnMarkers).
public struct TransactionMarkers: Sendable, Equatable {
    public var transactionalID: String
    public var producerID: ProducerID
    public var producerEpoch: ProducerEpoch
    public var commit: Bool
    public var partitions: [TopicPartition]

    public init(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, commit: Bool,
        partitions: [TopicPartition]
    ) {
        self.transactionalID = transactionalID
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.commit = commit
        self.partitions = partitions
    }

    init(_ metadata: TransactionMetadata, commit: Bool) {
        self.init(
            transactionalID: metadata.transactionalID, producerID: metadata.producerID,
            producerEpoch: metadata.producerEpoch,
            commit: commit, partitions: metadata.sortedPartitions
        )
    }
}
