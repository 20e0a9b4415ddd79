import KafkaProtocol

/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    /// Partitions; -1 for the broker's `num.partitions`.
    public var partitions: Int32
    /// Replicas per partition; -1 for the broker's `default.replication.factor`.
    public var replicationFactor: Int16
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// A topic as the cluster describes it.
public struct TopicDescription: Sendable {
    public var name: String
    public var topicID: KafkaUUID
    public var isInternal: Bool
    /// Partitions in index order, with leader, replicas and ISR.
    public var partitions: [ClusterMetadata.Partition]
}

/// What a config describes: a topic or a broker.
public struct ConfigResource: Sendable, Hashable {
    /// Kafka's resource type codes.
    public enum Kind: Int8, Sendable {
        case topic = 2
        case broker = 4
    }

    public var kind: Kind
    public var name: String

    public init(_ kind: Kind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    public static func topic(_ name: String) -> ConfigResource { ConfigResource(.topic, name) }
    public static func broker(_ id: Int32) -> ConfigResource { ConfigResource(.broker, "\(id)") }
}

/// One config value as described.
public struct ConfigEntry: Sendable, Hashable {
    public var name: String
    public var value: String?
    public var isReadOnly: Bool
    public var isDefault: Bool
    public var isSensitive: Bool
    /// Kafka's config source code (1 dynamic topic, 4 static broker, 5 default, ...).
    public var source: Int8
}

/// One change of an incremental config alteration.
public struct ConfigAlteration: Sendable, Hashable {
    /// Kafka's operation codes.
    public enum Operation: Int8, Sendable {
        case set = 0
        case delete = 1
        case append = 2
        case subtract = 3
    }

    public var name: String
    public var operation: Operation
    public var value: String?

    public init(name: String, operation: Operation = .set, value: String?) {
        self.name = name
        self.operation = operation
        self.value = value
    }
}

/// A group as ListGroups reports it.
public struct GroupListing: Sendable, Hashable {
    public var groupID: String
    public var protocolType: String
    public var state: String
    public var coordinator: Int32
}

/// A group as DescribeGroups reports it.
public struct GroupDescription: Sendable {
    /// One member with its decoded assignment (for consumer groups).
    public struct Member: Sendable {
        public var memberID: String
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        /// The partitions assigned to the member, when the group uses the consumer protocol.
        public var assignment: [TopicPartition]
    }

    public var groupID: String
    public var state: String
    public var protocolType: String
    /// The assignor in use (`range`, `roundrobin`, `cooperative-sticky`).
    public var protocolName: String
    public var members: [Member]
    public var coordinator: Int32
}

/// The cluster as DescribeCluster (or Metadata) reports it.
public struct ClusterDescription: Sendable {
    public var clusterID: String?
    public var controllerID: Int32
    public var brokers: [Int32: BrokerAddress]
}
