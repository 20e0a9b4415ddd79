import KafkaRecords
import NIOCore

/// A record as the consumer delivers it.
public struct ConsumerRecord: Sendable, Hashable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    /// Milliseconds since the epoch (create or log-append time, see `timestampType`).
    public var timestamp: Int64
    public var timestampType: TimestampType
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// The leader epoch of the batch, or -1.
    public var leaderEpoch: Int32

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }
}
