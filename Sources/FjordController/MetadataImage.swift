import FjordSecurity
import KafkaProtocol

/// An immutable picture of the cluster: brokers, topics with their partitions and configs, broker configs.
///
/// Nothing changes an image in place from outside: a command produces metadata records, and `replay(_:)` applies
/// committed records to make the next image (DESIGN.md §3.4). Handlers read one whole image per request, swapped
/// atomically by the broker's `MetadataPublisher`.
public struct MetadataImage: Sendable, Equatable {
    /// A broker as clients see it in Metadata and DescribeCluster.
    public struct Broker: Hashable, Sendable {
        public var nodeID: NodeID
        public var host: String
        public var port: Int32
        public var rack: String?

        public init(nodeID: NodeID, host: String, port: Int32, rack: String? = nil) {
            self.nodeID = nodeID
            self.host = host
            self.port = port
            self.rack = rack
        }
    }

    /// A topic, its partitions (by index, contiguous from 0) and its config overrides.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var topicID: KafkaUUID
        public var partitions: [Partition]
        /// Topic-level overrides only; defaults come from `TopicConfigs`.
        public var configs: [String: String]

        public init(name: String, topicID: KafkaUUID, partitions: [Partition] = [], configs: [String: String] = [:]) {
            self.name = name
            self.topicID = topicID
            self.partitions = partitions
            self.configs = configs
        }

        /// Kafka's internal topics: hidden from "all topics" listings unless asked for, and protected.
        public var isInternal: Bool { TopicName.isInternal(name) }

        /// Where partition `index` is in `partitions`, if there. Partitions are contiguous from 0, so it is at its
        /// own index; a binary search covers a log that left gaps.
        public func position(ofPartition index: Int32) -> Int? {
            if index >= 0, index < partitions.count, partitions[Int(index)].index == index { return Int(index) }
            let position = insertionPosition(ofPartition: index)
            return position < partitions.count && partitions[position].index == index ? position : nil
        }

        /// Adds or replaces a partition, keeping `partitions` ordered by index: O(1) for the next index or an
        /// existing one (how records arrive), O(log n) to find the place otherwise.
        mutating func setPartition(_ partition: Partition) {
            if let existing = position(ofPartition: partition.index) {
                partitions[existing] = partition
            } else if partitions.last.map({ $0.index < partition.index }) ?? true {
                partitions.append(partition)
            } else {
                partitions.insert(partition, at: insertionPosition(ofPartition: partition.index))
            }
        }

        /// The first position whose partition index is not below `index`.
        private func insertionPosition(ofPartition index: Int32) -> Int {
            var low = 0
            var high = partitions.count
            while low < high {
                let middle = (low + high) / 2
                if partitions[middle].index < index { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    /// One partition's replicas and leadership.
    public struct Partition: Hashable, Sendable {
        public var index: Int32
        public var leader: Int32
        public var leaderEpoch: LeaderEpoch
        public var partitionEpoch: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
        /// Kafka's `LeaderRecoveryState` (KIP-704): 1 (RECOVERING) after an unclean election until the leader's
        /// next AlterPartition says RECOVERED (0).
        public var leaderRecoveryState: Int8
        /// A reassignment in progress (KIP-455): the replicas it adds (already in `replicas`, catching up) and the
        /// ones it will remove once they have; both empty otherwise.
        public var addingReplicas: [Int32]
        public var removingReplicas: [Int32]

        public init(
            index: Int32, leader: Int32, leaderEpoch: LeaderEpoch = 0, partitionEpoch: Int32 = 0, replicas: [Int32],
            inSyncReplicas: [Int32], leaderRecoveryState: Int8 = 0, addingReplicas: [Int32] = [],
            removingReplicas: [Int32] = []
        ) {
            self.index = index
            self.leader = leader
            self.leaderEpoch = leaderEpoch
            self.partitionEpoch = partitionEpoch
            self.replicas = replicas
            self.inSyncReplicas = inSyncReplicas
            self.leaderRecoveryState = leaderRecoveryState
            self.addingReplicas = addingReplicas
            self.removingReplicas = removingReplicas
        }

        /// Whether a reassignment is in progress.
        public var isReassigning: Bool { !addingReplicas.isEmpty || !removingReplicas.isEmpty }

        /// The preferred leader (KIP-491's "preferred replica"): the first replica of the assignment.
        public var preferredLeader: Int32? { replicas.first }

        /// Whether the partition is led by its preferred leader.
        public var hasPreferredLeader: Bool { leader >= 0 && leader == preferredLeader }
    }

    public var clusterID: String
    public var controllerID: Int32
    /// Every registered broker by id, fenced or not (`MetadataImage+Cluster`).
    public internal(set) var brokerRegistrations: [NodeID: BrokerRegistration]
    /// Controllers that registered (KIP-919), by id.
    public internal(set) var controllerRegistrations: [NodeID: ControllerRegistration]
    /// Finalized feature levels, `metadata.version` included once a FeatureLevelRecord set it. A level of 0 is
    /// never kept: it means the feature is off.
    public internal(set) var finalizedFeatures: [String: Int16]
    public private(set) var topicsByName: [String: Topic]
    public private(set) var topicNamesByID: [KafkaUUID: String]
    /// Dynamic broker configs for every broker (IncrementalAlterConfigs on the broker resource named ""): name →
    /// value. Kafka's DYNAMIC_DEFAULT_BROKER_CONFIG.
    public private(set) var brokerConfigs: [String: String]
    /// Dynamic broker configs of one broker (the resource named by its id), which win over `brokerConfigs` on that
    /// broker. Kafka's DYNAMIC_BROKER_CONFIG.
    public private(set) var nodeConfigs: [NodeID: [String: String]] = [:]
    /// The first producer id not yet handed out in a block (ProducerIDsRecord).
    public private(set) var nextProducerID: Int64 = 0
    /// The ACLs (AccessControlEntryRecord), by their ids (`MetadataImage+Acls`).
    public internal(set) var acls: [KafkaUUID: AclBinding] = [:]
    /// SCRAM credentials (UserScramCredentialRecord) by user and mechanism (`MetadataImage+Scram`).
    public internal(set) var scramCredentials: [String: [ScramMechanism: ScramCredential]] = [:]
    /// Client quotas (ClientQuotaRecord) by entity, then key (`MetadataImage+Quotas`).
    public internal(set) var clientQuotas: [ClientQuotaEntity: [String: Double]] = [:]
    /// The offset of the last metadata record applied (-1 for none).
    public private(set) var lastAppliedOffset: Int64

    /// An image with `brokers` registered from configuration (epoch -1, unfenced, supporting this build's
    /// features): how a single node that writes no `RegisterBrokerRecord` knows itself. A replayed registration of
    /// the same id replaces it.
    public init(clusterID: String, controllerID: Int32, brokers: [Broker]) {
        self.clusterID = clusterID
        self.controllerID = controllerID
        brokerRegistrations = [:]
        controllerRegistrations = [:]
        finalizedFeatures = [:]
        topicsByName = [:]
        topicNamesByID = [:]
        brokerConfigs = [:]
        lastAppliedOffset = -1
        self.brokers = brokers
    }

    public func topic(named name: String) -> Topic? { topicsByName[name] }

    /// A dynamic broker config as broker `node` sees it: its own value, else the cluster-wide one.
    public func brokerConfig(_ key: String, for node: NodeID) -> String? {
        nodeConfigs[node]?[key] ?? brokerConfigs[key]
    }

    public func topic(id: KafkaUUID) -> Topic? { topicNamesByID[id].flatMap { topicsByName[$0] } }

    /// Topic names in order.
    public var topicNames: [String] { topicsByName.keys.sorted() }

    // MARK: Replay

    /// Applies one committed metadata record at `offset` (-1 when unknown: a registration then takes its offset
    /// from its epoch). Records that name unknown topics or brokers are ignored, as a replaying broker must survive
    /// a log written by a newer controller.
    public mutating func replay(_ record: MetadataRecord, offset: Int64 = -1) {
        switch record {
        case .registerBroker, .unregisterBroker, .fenceBroker, .unfenceBroker, .brokerRegistrationChange,
            .registerController, .featureLevel:
            replayCluster(record, offset: offset)
        case .accessControlEntry, .removeAccessControlEntry:
            replayAcl(record)
        case .userScramCredential, .removeUserScramCredential:
            replayScram(record)
        case .clientQuota(let quota):
            replayQuota(quota)
        case .topic(let topic):
            topicsByName[topic.name] = Topic(name: topic.name, topicID: topic.topicID)
            topicNamesByID[topic.topicID] = topic.name
        case .partition(let partition):
            guard let name = topicNamesByID[partition.topicID] else { break }
            let image = Partition(
                index: partition.partitionID, leader: partition.leader, leaderEpoch: partition.leaderEpoch,
                partitionEpoch: partition.partitionEpoch, replicas: partition.replicas, inSyncReplicas: partition.isr,
                leaderRecoveryState: partition.leaderRecoveryState, addingReplicas: partition.addingReplicas,
                removingReplicas: partition.removingReplicas
            )
            // In place: a copy of the topic taken out of the dictionary would copy its partitions on every record,
            // quadratic in a topic's partition count when a snapshot is replayed.
            topicsByName[name]?.setPartition(image)
        case .partitionChange(let change):
            guard let name = topicNamesByID[change.topicID],
                let index = topicsByName[name]?.position(ofPartition: change.partitionID)
            else { break }
            var partition = topicsByName[name]!.partitions[index]
            if let isr = change.isr { partition.inSyncReplicas = isr }
            if let replicas = change.replicas { partition.replicas = replicas }
            if let adding = change.addingReplicas { partition.addingReplicas = adding }
            if let removing = change.removingReplicas { partition.removingReplicas = removing }
            if change.leaderRecoveryState != -1 { partition.leaderRecoveryState = change.leaderRecoveryState }
            if change.leader != -2 {
                partition.leader = change.leader
                partition.leaderEpoch += 1
            }
            partition.partitionEpoch += 1
            topicsByName[name]!.partitions[index] = partition
        case .config(let config):
            switch ConfigResourceType(rawValue: config.resourceType) {
            case .topic:
                guard topicsByName[config.resourceName] != nil else { break }
                topicsByName[config.resourceName]!.configs[config.name] = config.value
            case .broker:
                if config.resourceName.isEmpty {
                    brokerConfigs[config.name] = config.value
                } else if let node = NodeID(config.resourceName) {
                    nodeConfigs[node, default: [:]][config.name] = config.value
                    if nodeConfigs[node]?.isEmpty == true { nodeConfigs[node] = nil }
                }
            default: break
            }
        case .producerIDs(let block):
            nextProducerID = max(nextProducerID, block.nextProducerID)
        case .removeTopic(let remove):
            guard let name = topicNamesByID.removeValue(forKey: remove.topicID) else { break }
            topicsByName.removeValue(forKey: name)
        }
        if offset >= 0 { lastAppliedOffset = offset }
    }
}

/// Kafka's config resource types (`ConfigResource.Type`).
public enum ConfigResourceType: Int8, Sendable {
    case unknown = 0
    case topic = 2
    case broker = 4
    case brokerLogger = 8
    case clientMetrics = 16
    case group = 32
}
