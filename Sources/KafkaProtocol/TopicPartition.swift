/// A partition of a topic: the unit of ordering, storage, replication, assignment and offsets. One type for the
/// client, the log, the group and transaction coordinators and the broker (Kafka's `TopicPartition`).
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition index.
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public init(topic: String, partition: Int32) {
        self.init(topic, partition)
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    /// `<topic>-<partition>`, as Kafka prints it and names the partition's folder.
    public var description: String { "\(topic)-\(partition)" }
}
