import KafkaRecords

/// How a `Producer` batches, compresses, acknowledges and retries.
public struct ProducerConfiguration: Sendable {
    /// Which replicas must have a record before the broker answers.
    public enum Acks: Int16, Sendable {
        /// Fire and forget: the broker sends no response; offsets are reported as -1.
        case none = 0
        /// The leader wrote the record.
        case leader = 1
        /// Every in-sync replica has the record.
        case all = -1
    }

    /// Connections and metadata.
    public var client: ClientConfiguration
    /// Kafka: `acks`. Default `.all`.
    public var acks: Acks = .all
    /// A batch closes when the next record would take it past this many bytes (records before compression).
    /// Kafka: `batch.size`. Default 16 KiB.
    public var batchSize: Int = 16_384
    /// How long a batch that is not full waits for more records. Kafka: `linger.ms`. Default 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// The most bytes of records waiting to be sent or acknowledged; `send` waits (up to `maxBlock`) while the
    /// buffer is full. Kafka: `buffer.memory`. Default 32 MiB.
    public var bufferMemory: Int = 32 << 20
    /// The largest record (as encoded, before compression) `send` accepts; larger ones fail at once with
    /// `.invalidArgument` instead of being rejected by the broker. Kafka: `max.request.size`. Default 1 MiB.
    public var maxRequestSize: Int = 1 << 20
    /// How long `send` may wait for metadata or buffer space. Kafka: `max.block.ms`. Default 60 s.
    public var maxBlock: Duration = .seconds(60)
    /// Compression of each batch. Kafka: `compression.type`. Default none.
    public var compression: CompressionCodec = .none
    /// How many times a batch is resent after a retriable error (within `deliveryTimeout`). Kafka: `retries`.
    /// Default Int.max.
    public var retries: Int = .max
    /// The wait before resending a batch. Kafka: `retry.backoff.ms`. Default 100 ms.
    public var retryBackoff: Duration = .milliseconds(100)
    /// The limit on the time from `send` to success or failure, retries included. Kafka: `delivery.timeout.ms`.
    /// Default 120 s.
    public var deliveryTimeout: Duration = .seconds(120)
    /// Produce requests in flight per partition (at most 5 with idempotence, to keep order on retries).
    /// Kafka: `max.in.flight.requests.per.connection`. Default 5.
    public var maxInFlightPerPartition: Int = 5
    /// Idempotence: a producer id and per-partition sequence numbers, so retries write each record once and in
    /// order. Takes effect only with `acks = .all` (as in Kafka, where enabling it requires acks=all).
    /// Kafka: `enable.idempotence`. Default true.
    public var enableIdempotence: Bool = true
    /// Makes the producer transactional: records are sent only inside `beginTransaction()` …
    /// `commitTransaction()`/`abortTransaction()`, and are read by read_committed consumers only if their
    /// transaction commits. Requires idempotence (and so `acks = .all`). Kafka: `transactional.id`. Default nil.
    public var transactionalID: String?
    /// How long a transaction may stay open before the coordinator aborts it. Kafka: `transaction.timeout.ms`.
    /// Default 60 s.
    public var transactionTimeout: Duration = .seconds(60)

    /// A configuration with Kafka's defaults.
    public init(client: ClientConfiguration) {
        self.client = client
    }

    /// Whether idempotence is in effect.
    var idempotent: Bool { enableIdempotence && acks == .all }
}
