import KafkaProtocol

/// A topic as the cluster describes it.
public struct TopicDescription: Sendable {
    public var name: String
    public var topicID: KafkaUUID
    public var isInternal: Bool
    /// Partitions in index order, with leader, replicas and ISR.
    public var partitions: [ClusterMetadata.Partition]
}
