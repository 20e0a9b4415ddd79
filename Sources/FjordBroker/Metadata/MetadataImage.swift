import KafkaProtocol

/// An immutable picture of the cluster as this broker knows it: the brokers, the topics and their partitions.
///
/// Handlers read a whole image at once and never see a half-applied change; a change makes a new image that
/// replaces the old one (DESIGN.md §3.4). Until the metadata log exists the single node builds it at start-up.
public struct MetadataImage: Sendable {
    /// A broker as clients see it in Metadata and DescribeCluster.
    public struct Broker: Hashable, Sendable {
        public var nodeID: Int32
        public var host: String
        public var port: Int32
        public var rack: String?
    }

    /// A topic and its partitions.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var topicID: KafkaUUID
        public var isInternal: Bool
        public var partitions: [Partition]
    }

    /// One partition's leadership and replicas.
    public struct Partition: Hashable, Sendable {
        public var index: Int32
        public var leader: Int32
        public var leaderEpoch: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
    }

    public var clusterID: String
    public var controllerID: Int32
    public var brokers: [Broker]
    public var topicsByName: [String: Topic]

    public init(clusterID: String, controllerID: Int32, brokers: [Broker], topicsByName: [String: Topic] = [:]) {
        self.clusterID = clusterID
        self.controllerID = controllerID
        self.brokers = brokers
        self.topicsByName = topicsByName
    }

    public func topic(id: KafkaUUID) -> Topic? {
        topicsByName.values.first { $0.topicID == id }
    }
}
