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

    public init(image: MetadataImage, defaults: Defaults) {
        self.image = image
        self.defaults = defaults
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
                created.partitionCount = Int32(plan.replicas.count)
                created.replicationFactor = Int16(plan.replicas.first?.count ?? 0)
                created.configs = plan.configs
                records.append(.topic(TopicRecord(name: topic.name, topicID: id)))
                for (index, replicas) in plan.replicas.enumerated() {
                    records.append(
                        .partition(
                            PartitionRecord(
                                partitionID: Int32(index), topicID: id, replicas: replicas, isr: replicas,
                                leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0
                            )))
                }
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
        var replicas: [[Int32]]
        var configs: [String: String]
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
        let brokers = image.brokers.map(\.nodeID).sorted()
        var replicas = [[Int32]]()
        if !topic.assignments.isEmpty {
            if topic.partitionCount != -1 || topic.replicationFactor != -1 {
                return .failure(
                    ItemResult(
                        .invalidRequest,
                        "Both numPartitions or replicationFactor and replicasAssignments were specified. Use either."))
            }
            for index in 0..<Int32(topic.assignments.count) {
                guard let assigned = topic.assignments[index] else {
                    return .failure(
                        ItemResult(
                            .invalidReplicaAssignment,
                            "Partitions should be 0-based and consecutive: partition \(index) is missing."))
                }
                if let error = checkReplicas(assigned, brokers: brokers, partition: index) { return .failure(error) }
                replicas.append(assigned)
            }
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
            guard Int(factor) <= brokers.count else {
                return .failure(
                    ItemResult(
                        .invalidReplicationFactor,
                        "Unable to replicate the partition \(factor) time(s): The target replication factor of \(factor) cannot be reached because only \(brokers.count) broker(s) are registered."
                    ))
            }
            replicas = Self.assign(partitions: count, replicationFactor: factor, brokers: brokers, startingAt: 0)
        }
        var configs = [String: String]()
        for config in topic.configs {
            switch Self.validateConfig(name: config.name, value: config.value) {
            case .failure(let error): return .failure(error)
            case .success(let value): configs[config.name] = value
            }
        }
        return .success(TopicPlan(replicas: replicas, configs: configs))
    }

    private func checkReplicas(_ replicas: [Int32], brokers: [Int32], partition: Int32) -> ItemResult? {
        guard !replicas.isEmpty else {
            return ItemResult(
                .invalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
        }
        guard Set(replicas).count == replicas.count else {
            return ItemResult(
                .invalidReplicaAssignment,
                "The manual partition assignment includes the broker \(replicas[0]) more than once.")
        }
        if let unknown = replicas.first(where: { !brokers.contains($0) }) {
            return ItemResult(
                .invalidReplicaAssignment,
                "The manual partition assignment includes broker \(unknown), but no such broker is registered.")
        }
        return nil
    }

    /// Round-robin placement: partition p's replicas are the brokers from position p on, wrapping around.
    static func assign(partitions: Int32, replicationFactor: Int16, brokers: [Int32], startingAt first: Int32)
        -> [[Int32]]
    {
        (first..<(first + partitions)).map { partition in
            (0..<Int(replicationFactor)).map { brokers[(Int(partition) + $0) % brokers.count] }
        }
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
        let brokers = image.brokers.map(\.nodeID).sorted()
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
            let factor = Int16(topic.partitions.first?.replicas.count ?? 1)
            var newReplicas = Self.assign(
                partitions: request.count - current, replicationFactor: factor, brokers: brokers, startingAt: current)
            if let assignments = request.assignments {
                guard assignments.count == Int(request.count - current) else {
                    results.append(
                        (
                            request.name,
                            ItemResult(
                                .invalidReplicaAssignment,
                                "Increasing the number of partitions by \(request.count - current) but \(assignments.count) assignments provided."
                            )
                        ))
                    continue
                }
                if let error = assignments.enumerated().lazy.compactMap({
                    checkReplicas($0.element, brokers: brokers, partition: current + Int32($0.offset))
                }).first {
                    results.append((request.name, error))
                    continue
                }
                newReplicas = assignments
            }
            for (offset, replicas) in newReplicas.enumerated() {
                records.append(
                    .partition(
                        PartitionRecord(
                            partitionID: current + Int32(offset), topicID: topic.topicID, replicas: replicas,
                            isr: replicas,
                            leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0
                        )))
            }
            results.append((request.name, .ok))
        }
        return ControllerResult(records: records, response: results)
    }
}
