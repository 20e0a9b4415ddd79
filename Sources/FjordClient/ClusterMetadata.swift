import KafkaProtocol

/// A snapshot of what the cluster told the client: brokers, and each known topic's partitions and leaders.
public struct ClusterMetadata: Sendable {
    /// One partition's placement.
    public struct Partition: Sendable, Hashable {
        public var partition: Int32
        /// Leader node id, or -1 when there is none.
        public var leader: Int32
        public var leaderEpoch: Int32
        public var replicas: [Int32]
        public var isr: [Int32]
        public var offlineReplicas: [Int32]
        /// The error the broker reported for this partition (`.none` normally).
        public var error: ErrorCode
    }

    /// One topic: its partitions by index.
    public struct Topic: Sendable {
        public var name: String
        public var topicID: KafkaUUID
        public var isInternal: Bool
        /// The error the broker reported for the topic (`.none` normally).
        public var error: ErrorCode
        public var partitions: [Partition]
    }

    /// Brokers by node id.
    public var brokers: [Int32: BrokerAddress] = [:]
    /// The cluster id, if the broker reported one.
    public var clusterID: String?
    /// The active controller's node id, or -1.
    public var controllerID: Int32 = -1
    /// Topics by name.
    public var topics: [String: Topic] = [:]

    public init() {}

    /// Builds the snapshot from a Metadata response.
    init(_ response: MetadataResponse) {
        for broker in response.brokers {
            brokers[broker.nodeID] = BrokerAddress(host: broker.host, port: Int(broker.port))
        }
        clusterID = response.clusterID
        controllerID = response.controllerID
        for topic in response.topics {
            guard let name = topic.name else { continue }
            topics[name] = Self.topic(topic, name: name)
        }
    }

    static func topic(_ topic: MetadataResponse.MetadataResponseTopic, name: String) -> Topic {
        Topic(
            name: name, topicID: topic.topicID, isInternal: topic.isInternal,
            error: ErrorCode(rawValue: topic.errorCode),
            partitions: topic.partitions.map {
                Partition(
                    partition: $0.partitionIndex, leader: $0.leaderID, leaderEpoch: $0.leaderEpoch,
                    replicas: $0.replicaNodes, isr: $0.isrNodes, offlineReplicas: $0.offlineReplicas,
                    error: ErrorCode(rawValue: $0.errorCode)
                )
            }.sorted { $0.partition < $1.partition }
        )
    }

    /// Merges a newer response: brokers are replaced, topics in the response replace the known ones.
    mutating func merge(_ response: MetadataResponse, replaceAllTopics: Bool) {
        let newer = ClusterMetadata(response)
        brokers = newer.brokers
        clusterID = newer.clusterID
        controllerID = newer.controllerID
        if replaceAllTopics {
            topics = newer.topics
        } else {
            for (name, topic) in newer.topics { topics[name] = topic }
        }
    }

    /// The leader of `partition`, or nil when unknown or leaderless.
    public func leader(of partition: TopicPartition) -> Int32? {
        guard let topic = topics[partition.topic], topic.error == .none,
            let entry = topic.partitions.first(where: { $0.partition == partition.partition }),
            entry.leader >= 0
        else { return nil }
        return entry.leader
    }

    /// The number of partitions of a topic the broker described without error.
    public func partitionCount(of topic: String) -> Int? {
        guard let entry = topics[topic], entry.error == .none, !entry.partitions.isEmpty else { return nil }
        return entry.partitions.count
    }
}
