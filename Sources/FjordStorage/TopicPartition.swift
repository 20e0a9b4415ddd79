/// A partition of a topic: the unit of ordering, storage and replication.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// The partition's folder name in a data directory, as Kafka names it: `<topic>-<partition>`.
    public var directoryName: String { "\(topic)-\(partition)" }

    /// Parses a partition folder name (`orders-3`); nil if it is not one.
    public init?(directoryName: String) {
        guard let dash = directoryName.lastIndex(of: "-"), let partition = Int32(directoryName[directoryName.index(after: dash)...]),
            partition >= 0, dash > directoryName.startIndex
        else { return nil }
        self.init(String(directoryName[..<dash]), partition)
    }

    public var description: String { directoryName }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}
