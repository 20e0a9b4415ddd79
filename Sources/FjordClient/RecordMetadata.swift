/// Where a produced record was written.
public struct RecordMetadata: Sendable, Hashable {
    /// The topic and partition.
    public var topicPartition: TopicPartition
    /// The record's offset, or -1 when acks=0 (the broker does not answer).
    public var offset: Int64
    /// The record's timestamp: its create time, or the broker's append time for `LogAppendTime` topics.
    public var timestamp: Int64

    public var partition: Int32 { topicPartition.partition }
}
