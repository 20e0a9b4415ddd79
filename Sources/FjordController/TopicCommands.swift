import KafkaProtocol

/// Topic administration as a pure function of the current image: validate, then return the metadata records
/// that carry the change (STYLE.md §8). Nothing changes until the records are replayed.
public struct TopicCommands: Sendable {
    /// Broker-wide defaults the commands need.
    public struct Defaults: Sendable {
        public var partitionCount: Int32
        public var replicationFactor: Int16

        public init(partitionCount: Int32, replicationFactor: Int16) {
            self.partitionCount = partitionCount
            self.replicationFactor = replicationFactor
        }
    }

    /// One topic to create, as CreateTopics (and auto-creation) describe it.
    public struct NewTopic: Sendable {
        public var name: String
        public var partitionCount: Int32
        public var replicationFactor: Int16
        /// Explicit replicas per partition index, or empty.
        public var assignments: [Int32: [Int32]]
        public var configs: [(name: String, value: String?)]

        public init(
            name: String, partitionCount: Int32 = -1, replicationFactor: Int16 = -1,
            assignments: [Int32: [Int32]] = [:], configs: [(name: String, value: String?)] = []
        ) {
            self.name = name
            self.partitionCount = partitionCount
            self.replicationFactor = replicationFactor
            self.assignments = assignments
            self.configs = configs
        }
    }

    /// The answer for one created topic.
    public struct CreatedTopic: Sendable, Equatable {
        public var name: String
        public var result: ItemResult
        public var topicID: KafkaUUID
        public var partitionCount: Int32
        public var replicationFactor: Int16
        public var configs: [String: String]
    }

    public let image: MetadataImage
    public let defaults: Defaults
    /// The caller's randomness for replica placement (`ReplicaPlacer`): the active controller passes a fresh
    /// random value per command, so successive topics start their leaders on different brokers; 0 is fine for a
    /// single broker.
    public let placementSeed: UInt64

    public init(image: MetadataImage, defaults: Defaults, placementSeed: UInt64 = 0) {
        self.image = image
        self.defaults = defaults
        self.placementSeed = placementSeed
    }

    // MARK: CreateTopics

    /// Validates and creates topics. `newTopicID` supplies each new topic's id (the caller owns randomness).
    public func createTopics(_ topics: [NewTopic], newTopicID: () -> KafkaUUID) -> ControllerResult<[CreatedTopic]> {
        var records = [MetadataRecord]()
        var results = [CreatedTopic]()
        var names = image.topicsByName.keys.map { $0 }
        let duplicates = Dictionary(grouping: topics.map(\.name), by: { $0 }).filter { $0.value.count > 1 }.keys
        for topic in topics {
            var created = CreatedTopic(
                name: topic.name, result: .ok, topicID: .zero, partitionCount: -1, replicationFactor: -1, configs: [:])
            if duplicates.contains(topic.name) {
                created.result = ItemResult(
                    .invalidRequest,
                    "Create topics request from client contains multiple entries for the topic \(topic.name)")
                results.append(created)
                continue
            }
            switch validate(topic, existingNames: names) {
            case .failure(let failure):
                created.result = failure
            case .success(let plan):
                let id = newTopicID()
                created.topicID = id
                created.partitionCount = Int32(plan.partitions.count)
                created.replicationFactor = Int16(plan.partitions.first?.replicas.count ?? 0)
                created.configs = plan.configs
                records.append(.topic(TopicRecord(name: topic.name, topicID: id)))
                records += Self.partitionRecords(plan.partitions, topicID: id, firstIndex: 0)
                for (name, value) in plan.configs.sorted(by: { $0.key < $1.key }) {
                    records.append(
                        .config(
                            ConfigRecord(
                                resourceType: ConfigResourceType.topic.rawValue, resourceName: topic.name, name: name,
                                value: value)))
                }
                names.append(topic.name)
            }
            results.append(created)
        }
        return ControllerResult(records: records, response: results)
    }

    struct TopicPlan {
        var partitions: [PlannedPartition]
        var configs: [String: String]
    }

    /// A new partition's replicas and its first ISR: the replicas that are active (Kafka's rule), led by the first.
    struct PlannedPartition {
        var replicas: [Int32]
        var isr: [Int32]
    }

    static func partitionRecords(_ partitions: [PlannedPartition], topicID: KafkaUUID, firstIndex: Int32)
        -> [MetadataRecord]
    {
        partitions.enumerated().map { offset, planned in
            .partition(
                PartitionRecord(
                    partitionID: firstIndex + Int32(offset), topicID: topicID, replicas: planned.replicas,
                    isr: planned.isr, leader: planned.isr[0], leaderEpoch: 0, partitionEpoch: 0))
        }
    }

    private func validate(_ topic: NewTopic, existingNames: [String]) -> Result<TopicPlan, ItemResult> {
        if let problem = TopicName.problem(with: topic.name) {
            return .failure(ItemResult(.invalidTopicException, problem))
        }
        if topic.name == TopicName.clusterMetadata {
            return .failure(
                ItemResult(.invalidRequest, "Creation of internal topic \(TopicName.clusterMetadata) is prohibited."))
        }
        if existingNames.contains(topic.name) {
            return .failure(ItemResult(.topicAlreadyExists, "Topic '\(topic.name)' already exists."))
        }
        let normalized = TopicName.collisionKey(topic.name)
        if let other = existingNames.first(where: { TopicName.collisionKey($0) == normalized }) {
            return .failure(
                ItemResult(.invalidTopicException, "Topic '\(topic.name)' collides with existing topic: \(other)"))
        }
        let partitions: [PlannedPartition]
        if !topic.assignments.isEmpty {
            if topic.replicationFactor != -1 {
                return .failure(
                    ItemResult(
                        .invalidRequest,
                        "A manual partition assignment was specified, but replication factor was not set to -1."))
            }
            if topic.partitionCount != -1 {
                return .failure(
                    ItemResult(
                        .invalidRequest,
                        "A manual partition assignment was specified, but numPartitions was not set to -1."))
            }
            var planned = [PlannedPartition]()
            for index in 0..<Int32(topic.assignments.count) {
                guard let assigned = topic.assignments[index] else {
                    return .failure(
                        ItemResult(
                            .invalidReplicaAssignment, "partitions should be a consecutive 0-based integer sequence"))
                }
                switch checkAssignment(assigned, partition: index, replicationFactor: planned.first?.replicas.count) {
                case .failure(let error): return .failure(error)
                case .success(let partition): planned.append(partition)
                }
            }
            partitions = planned
        } else {
            let count = topic.partitionCount == -1 ? defaults.partitionCount : topic.partitionCount
            guard count > 0 else {
                return .failure(
                    ItemResult(.invalidPartitions, "Number of partitions was set to an invalid non-positive value."))
            }
            let factor = topic.replicationFactor == -1 ? defaults.replicationFactor : topic.replicationFactor
            guard factor > 0 else {
                return .failure(
                    ItemResult(
                        .invalidReplicationFactor,
                        "Replication factor must be larger than 0, or -1 to use the default value."))
            }
            switch place(count: count, replicationFactor: factor) {
            case .failure(let error): return .failure(error)
            case .success(let placed): partitions = placed
            }
        }
        var configs = [String: String]()
        for config in topic.configs {
            switch Self.validateConfig(name: config.name, value: config.value) {
            case .failure(let error): return .failure(error)
            case .success(let value): configs[config.name] = value
            }
        }
        return .success(TopicPlan(partitions: partitions, configs: configs))
    }

    /// Automatic placement over the active brokers (`ReplicaPlacer`), refused with Kafka's message when there
    /// are too few.
    private func place(count: Int32, replicationFactor: Int16) -> Result<[PlannedPartition], ItemResult> {
        let placer = ReplicaPlacer(image: image, seed: placementSeed)
        if let problem = placer.problem(replicationFactor: replicationFactor) {
            return .failure(
                ItemResult(
                    .invalidReplicationFactor,
                    "Unable to replicate the partition \(replicationFactor) time(s): \(problem)"))
        }
        return .success(
            placer.place(count: count, replicationFactor: replicationFactor).map {
                PlannedPartition(replicas: $0, isr: $0)
            })
    }

    /// A manual assignment as Kafka checks it: not empty, every broker registered and named once, as many
    /// replicas as the topic's other partitions, and at least one of them active to lead.
    private func checkAssignment(_ replicas: [Int32], partition: Int32, replicationFactor: Int?)
        -> Result<PlannedPartition, ItemResult>
    {
        func refuse(_ message: String) -> Result<PlannedPartition, ItemResult> {
            .failure(ItemResult(.invalidReplicaAssignment, message))
        }
        guard !replicas.isEmpty else {
            return refuse("The manual partition assignment includes an empty replica list.")
        }
        var previous: Int32?
        for broker in replicas.sorted() {
            if image.brokerRegistrations[broker] == nil {
                return refuse(
                    "The manual partition assignment includes broker \(broker), but no such broker is registered.")
            }
            if broker == previous {
                return refuse("The manual partition assignment includes the broker \(broker) more than once.")
            }
            previous = broker
        }
        if let replicationFactor, replicas.count != replicationFactor {
            return refuse(
                "The manual partition assignment includes a partition with \(replicas.count) replica(s), but this is "
                    + "not consistent with previous partitions, which have \(replicationFactor) replica(s).")
        }
        let isr = replicas.filter(image.isActive)
        guard !isr.isEmpty else {
            return refuse(
                "All brokers specified in the manual partition assignment for partition \(partition) are fenced or "
                    + "in controlled shutdown.")
        }
        return .success(PlannedPartition(replicas: replicas, isr: isr))
    }

    static func validateConfig(name: String, value: String?) -> Result<String, ItemResult> {
        guard let definition = TopicConfigs.byName[name] else {
            return .failure(ItemResult(.invalidConfig, "Unknown topic config name: \(name)"))
        }
        guard let value else {
            return .failure(ItemResult(.invalidConfig, "Null value not supported for topic configs: \(name)"))
        }
        if let problem = definition.validate(value) { return .failure(ItemResult(.invalidConfig, problem)) }
        return .success(value)
    }

    // MARK: DeleteTopics

    /// Removes topics named or identified. Each result carries the topic's name and id when known.
    public func deleteTopics(names: [String], ids: [KafkaUUID]) -> ControllerResult<
        [(name: String?, topicID: KafkaUUID, result: ItemResult)]
    > {
        var records = [MetadataRecord]()
        var results = [(name: String?, topicID: KafkaUUID, result: ItemResult)]()
        var removed = Set<KafkaUUID>()
        for name in names {
            if TopicName.isBrokerOwned(name) {
                results.append(
                    (name, image.topic(named: name)?.topicID ?? .zero, Self.internalTopicRefused(name, "deleted")))
                continue
            }
            guard let topic = image.topic(named: name) else {
                results.append(
                    (
                        name, .zero,
                        ItemResult(.unknownTopicOrPartition, "This server does not host this topic-partition.")
                    ))
                continue
            }
            if removed.insert(topic.topicID).inserted {
                records.append(.removeTopic(RemoveTopicRecord(topicID: topic.topicID)))
            }
            results.append((name, topic.topicID, .ok))
        }
        for id in ids {
            guard let topic = image.topic(id: id) else {
                results.append((nil, id, ItemResult(.unknownTopicID, "This server does not host this topic ID.")))
                continue
            }
            if topic.isInternal {
                results.append((topic.name, id, Self.internalTopicRefused(topic.name, "deleted")))
                continue
            }
            if removed.insert(topic.topicID).inserted {
                records.append(.removeTopic(RemoveTopicRecord(topicID: topic.topicID)))
            }
            results.append((topic.name, id, .ok))
        }
        return ControllerResult(records: records, response: results)
    }

    /// Internal topics belong to their coordinators: deleting one would drop every group's offsets or every
    /// transaction's state, and more partitions would move every group or transactional id to another partition.
    static func internalTopicRefused(_ name: String, _ what: String) -> ItemResult {
        ItemResult(.invalidRequest, "Internal topic \(name) cannot be \(what): it belongs to the broker")
    }

    // MARK: CreatePartitions

    /// Grows topics to `count` partitions, optionally with explicit replicas for the new ones.
    public func createPartitions(_ requests: [(name: String, count: Int32, assignments: [[Int32]]?)])
        -> ControllerResult<[(name: String, result: ItemResult)]>
    {
        var records = [MetadataRecord]()
        var results = [(name: String, result: ItemResult)]()
        for request in requests {
            if TopicName.isBrokerOwned(request.name) {
                results.append((request.name, Self.internalTopicRefused(request.name, "given more partitions")))
                continue
            }
            guard let topic = image.topic(named: request.name) else {
                results.append(
                    (request.name, ItemResult(.unknownTopicOrPartition, "The topic '\(request.name)' does not exist.")))
                continue
            }
            let current = Int32(topic.partitions.count)
            if request.count < current {
                results.append(
                    (
                        request.name,
                        ItemResult(
                            .invalidPartitions,
                            "Topic currently has \(current) partitions, which is higher than the requested \(request.count)."
                        )
                    ))
                continue
            }
            if request.count == current {
                results.append(
                    (request.name, ItemResult(.invalidPartitions, "Topic already has \(current) partitions.")))
                continue
            }
            switch plan(adding: request.count - current, to: topic, assignments: request.assignments) {
            case .failure(let error):
                results.append((request.name, error))
            case .success(let planned):
                records += Self.partitionRecords(planned, topicID: topic.topicID, firstIndex: current)
                results.append((request.name, .ok))
            }
        }
        return ControllerResult(records: records, response: results)
    }

    /// The new partitions of a topic: placed as at creation, with the topic's replication factor, or checked
    /// against it when assigned by hand.
    private func plan(adding count: Int32, to topic: MetadataImage.Topic, assignments: [[Int32]]?)
        -> Result<[PlannedPartition], ItemResult>
    {
        let factor = Int16(topic.partitions.first?.replicas.count ?? 1)
        guard let assignments else { return place(count: count, replicationFactor: factor) }
        guard assignments.count == Int(count) else {
            return .failure(
                ItemResult(
                    .invalidReplicaAssignment,
                    "Increasing the number of partitions by \(count) but \(assignments.count) assignments provided."))
        }
        var planned = [PlannedPartition]()
        let first = Int32(topic.partitions.count)
        for (offset, replicas) in assignments.enumerated() {
            switch checkAssignment(replicas, partition: first + Int32(offset), replicationFactor: Int(factor)) {
            case .failure(let error): return .failure(error)
            case .success(let partition): planned.append(partition)
            }
        }
        return .success(planned)
    }
}
