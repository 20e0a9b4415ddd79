import KafkaProtocol
import NIOCore

/// Cluster administration: topics, partitions, configs, groups and their offsets, records, cluster.
///
/// Operations on several items return one result per item, so one failed topic does not hide the others; a
/// failure of the whole request (no broker reachable) is thrown.
public struct Admin: Sendable {
    /// The client used for requests (shared when passed in).
    public let client: KafkaClient

    public init(configuration: ClientConfiguration) {
        self.client = KafkaClient(configuration: configuration)
    }

    public init(client: KafkaClient) {
        self.client = client
    }

    /// The controller when metadata names one (KRaft brokers forward anyway), else any broker.
    private func controller() async throws -> Int32? {
        let metadata = try await client.metadata()
        return metadata.controllerID >= 0 && metadata.brokers[metadata.controllerID] != nil
            ? metadata.controllerID : nil
    }

    private func sendToController<R: KafkaRequest>(_ request: R) async throws -> R.Response {
        if let controller = try await controller() { return try await client.send(request, to: controller) }
        return try await client.sendToAny(request)
    }

    // MARK: Topics

    /// Creates topics; each gets success or its own error (TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, ...).
    public func createTopics(
        _ topics: [NewTopic], validateOnly: Bool = false, timeout: Duration = .seconds(30)
    ) async throws -> [String: Result<Void, ClientError>] {
        var request = CreateTopicsRequest()
        request.timeoutMs = timeout.millisecondsInt32
        request.validateOnly = validateOnly
        request.topics = topics.map { topic in
            CreateTopicsRequest.CreatableTopic(
                name: topic.name, numPartitions: topic.partitions, replicationFactor: topic.replicationFactor,
                assignments: [],
                configs: topic.configs.sorted { $0.key < $1.key }.map {
                    CreateTopicsRequest.CreatableTopicConfig(name: $0.key, value: $0.value)
                }
            )
        }
        let response = try await sendToController(request)
        var results: [String: Result<Void, ClientError>] = [:]
        for answer in response.topics {
            results[answer.name] = Self.result(answer.errorCode, answer.errorMessage, topic: answer.name)
        }
        await client.invalidateMetadata()
        return Self.fillMissing(results, topics.map(\.name))
    }

    /// Deletes topics by name.
    public func deleteTopics(_ names: [String], timeout: Duration = .seconds(30)) async throws
        -> [String: Result<Void, ClientError>]
    {
        var request = DeleteTopicsRequest()
        request.timeoutMs = timeout.millisecondsInt32
        request.topicNames = names
        request.topics = names.map { DeleteTopicsRequest.DeleteTopicState(name: $0, topicID: .zero) }
        let response = try await sendToController(request)
        var results: [String: Result<Void, ClientError>] = [:]
        for answer in response.responses {
            guard let name = answer.name else { continue }
            results[name] = Self.result(answer.errorCode, answer.errorMessage, topic: name)
        }
        await client.invalidateMetadata()
        return Self.fillMissing(results, names)
    }

    /// The names of all topics (internal ones only when asked).
    public func listTopics(includeInternal: Bool = false) async throws -> [String] {
        let metadata = try await client.refreshMetadata(allTopics: true)
        return metadata.topics.values.filter { includeInternal || !$0.isInternal }.map(\.name).sorted()
    }

    /// Describes topics: partitions with leader, replicas and ISR.
    public func describeTopics(_ names: [String]) async throws -> [String: Result<TopicDescription, ClientError>] {
        var request = MetadataRequest()
        request.allowAutoTopicCreation = false
        request.topics = names.map { MetadataRequest.MetadataRequestTopic(name: $0) }
        let response = try await client.sendToAny(request)
        var results: [String: Result<TopicDescription, ClientError>] = [:]
        for topic in response.topics {
            guard let name = topic.name else { continue }
            if let error = ClientError.kafka(topic.errorCode, "describe \(name) failed", topic: name) {
                results[name] = .failure(error)
                continue
            }
            let entry = ClusterMetadata.topic(topic, name: name)
            results[name] = .success(
                TopicDescription(
                    name: name, topicID: entry.topicID, isInternal: entry.isInternal, partitions: entry.partitions)
            )
        }
        return Self.fillMissing(results, names)
    }

    /// Grows topics to the given total partition counts.
    public func createPartitions(
        _ totals: [String: Int32], validateOnly: Bool = false, timeout: Duration = .seconds(30)
    ) async throws -> [String: Result<Void, ClientError>] {
        var request = CreatePartitionsRequest()
        request.timeoutMs = timeout.millisecondsInt32
        request.validateOnly = validateOnly
        request.topics = totals.sorted { $0.key < $1.key }.map {
            CreatePartitionsRequest.CreatePartitionsTopic(name: $0.key, count: $0.value, assignments: nil)
        }
        let response = try await sendToController(request)
        var results: [String: Result<Void, ClientError>] = [:]
        for answer in response.results {
            results[answer.name] = Self.result(answer.errorCode, answer.errorMessage, topic: answer.name)
        }
        await client.invalidateMetadata()
        return Self.fillMissing(results, Array(totals.keys))
    }

    // MARK: Configs

    /// Describes configs of topics and brokers (all keys, or only `keys`).
    public func describeConfigs(
        _ resources: [ConfigResource], keys: [String]? = nil
    ) async throws -> [ConfigResource: Result<[ConfigEntry], ClientError>] {
        var results: [ConfigResource: Result<[ConfigEntry], ClientError>] = [:]
        for (target, group) in try await routeConfigResources(resources) {
            var request = DescribeConfigsRequest()
            request.resources = group.map {
                DescribeConfigsRequest.DescribeConfigsResource(
                    resourceType: $0.kind.rawValue, resourceName: $0.name, configurationKeys: keys
                )
            }
            let response = try await send(request, to: target)
            for answer in response.results {
                guard let kind = ConfigResource.Kind(rawValue: answer.resourceType) else { continue }
                let resource = ConfigResource(kind, answer.resourceName)
                if let error = ClientError.kafka(answer.errorCode, answer.errorMessage ?? "DescribeConfigs failed") {
                    results[resource] = .failure(error)
                    continue
                }
                results[resource] = .success(
                    answer.configs.map {
                        ConfigEntry(
                            name: $0.name, value: $0.value, isReadOnly: $0.readOnly, isDefault: $0.isDefault,
                            isSensitive: $0.isSensitive, source: $0.configSource
                        )
                    }
                )
            }
        }
        return Self.fillMissing(results, resources)
    }

    /// Changes configs incrementally (set, delete, append, subtract), one result per resource.
    public func incrementalAlterConfigs(
        _ changes: [ConfigResource: [ConfigAlteration]], validateOnly: Bool = false
    ) async throws -> [ConfigResource: Result<Void, ClientError>] {
        var results: [ConfigResource: Result<Void, ClientError>] = [:]
        for (target, group) in try await routeConfigResources(Array(changes.keys)) {
            var request = IncrementalAlterConfigsRequest()
            request.validateOnly = validateOnly
            request.resources = group.map { resource in
                IncrementalAlterConfigsRequest.AlterConfigsResource(
                    resourceType: resource.kind.rawValue, resourceName: resource.name,
                    configs: changes[resource]!.map {
                        IncrementalAlterConfigsRequest.AlterableConfig(
                            name: $0.name, configOperation: $0.operation.rawValue, value: $0.value
                        )
                    }
                )
            }
            let response = try await send(request, to: target)
            for answer in response.responses {
                guard let kind = ConfigResource.Kind(rawValue: answer.resourceType) else { continue }
                results[ConfigResource(kind, answer.resourceName)] = Self.result(answer.errorCode, answer.errorMessage)
            }
        }
        return Self.fillMissing(results, Array(changes.keys))
    }

    /// Broker resources go to that broker; topic resources to any broker (nil).
    private func routeConfigResources(_ resources: [ConfigResource]) async throws -> [Int32?: [ConfigResource]] {
        var routes: [Int32?: [ConfigResource]] = [:]
        for resource in resources {
            let target: Int32? = resource.kind == .broker && !resource.name.isEmpty ? Int32(resource.name) : nil
            routes[target, default: []].append(resource)
        }
        return routes
    }

    private func send<R: KafkaRequest>(_ request: R, to target: Int32?) async throws -> R.Response {
        if let target { return try await client.send(request, to: target) }
        return try await client.sendToAny(request)
    }

    // MARK: Cluster

    /// The cluster id, controller and brokers (DescribeCluster, or Metadata where the broker lacks it).
    public func describeCluster() async throws -> ClusterDescription {
        let connection = try await client.anyConnection()
        if (try? connection.version(for: DescribeClusterRequest.self)) != nil {
            let response = try await connection.send(DescribeClusterRequest())
            if let error = ClientError.kafka(response.errorCode, response.errorMessage ?? "DescribeCluster failed") {
                throw error
            }
            var brokers: [Int32: BrokerAddress] = [:]
            for broker in response.brokers {
                brokers[broker.brokerID] = BrokerAddress(host: broker.host, port: Int(broker.port))
            }
            return ClusterDescription(
                clusterID: response.clusterID, controllerID: response.controllerID, brokers: brokers)
        }
        let metadata = try await client.refreshMetadata()
        return ClusterDescription(
            clusterID: metadata.clusterID, controllerID: metadata.controllerID, brokers: metadata.brokers)
    }

    // MARK: Records and offsets

    /// Moves the log start offset of partitions to the given offsets (-1: the high watermark); each partition gets
    /// its new low watermark or an error.
    public func deleteRecords(
        _ offsets: [TopicPartition: Int64], timeout: Duration = .seconds(30)
    ) async -> [TopicPartition: Result<Int64, ClientError>] {
        var results: [TopicPartition: Result<Int64, ClientError>] = [:]
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in offsets.keys {
            do {
                byLeader[try await client.leader(for: partition), default: []].append(partition)
            } catch {
                results[partition] = .failure(KafkaClient.asClientError(error, partition))
            }
        }
        for (leader, partitions) in byLeader {
            var request = DeleteRecordsRequest()
            request.timeoutMs = timeout.millisecondsInt32
            request.topics = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map {
                topic, parts in
                DeleteRecordsRequest.DeleteRecordsTopic(
                    name: topic,
                    partitions: parts.map { .init(partitionIndex: $0.partition, offset: offsets[$0]!) }
                )
            }
            do {
                let response = try await client.send(request, to: leader)
                for topic in response.topics {
                    for answer in topic.partitions {
                        let partition = TopicPartition(topic.name, answer.partitionIndex)
                        if let error = ClientError.kafka(
                            answer.errorCode, "DeleteRecords failed", broker: leader, topic: topic.name,
                            partition: answer.partitionIndex
                        ) {
                            results[partition] = .failure(error)
                        } else {
                            results[partition] = .success(answer.lowWatermark)
                        }
                    }
                }
            } catch {
                for partition in partitions {
                    results[partition] = .failure(KafkaClient.asClientError(error, partition))
                }
            }
        }
        return Self.fillMissing(results, Array(offsets.keys))
    }

    /// Offsets at the start, the end, or a timestamp of each partition.
    public func listOffsets(
        _ specs: [TopicPartition: KafkaClient.OffsetSpec], readCommitted: Bool = false
    ) async -> [TopicPartition: Result<KafkaClient.ListedOffset, ClientError>] {
        await client.listOffsets(specs, isolationLevel: readCommitted ? 1 : 0)
    }

    // MARK: Groups

    /// Every group of every broker.
    public func listGroups() async throws -> [GroupListing] {
        let metadata = try await client.refreshMetadata()
        var listings: [GroupListing] = []
        for broker in metadata.brokers.keys.sorted() {
            let response = try await client.send(ListGroupsRequest(), to: broker)
            if let error = ClientError.kafka(response.errorCode, "ListGroups failed", broker: broker) { throw error }
            listings += response.groups.map {
                GroupListing(
                    groupID: $0.groupID, protocolType: $0.protocolType, state: $0.groupState, coordinator: broker)
            }
        }
        return listings.sorted { $0.groupID < $1.groupID }
    }

    /// Describes groups: state, assignor and members with their assignments.
    public func describeGroups(_ groups: [String]) async -> [String: Result<GroupDescription, ClientError>] {
        var results: [String: Result<GroupDescription, ClientError>] = [:]
        for group in groups {
            do {
                let coordinator = try await client.findCoordinator(key: group)
                var request = DescribeGroupsRequest()
                request.groups = [group]
                let response = try await client.send(request, to: coordinator)
                guard let answer = response.groups.first(where: { $0.groupID == group }) else {
                    throw ClientError(.protocolViolation, "DescribeGroups answered no \(group)", isRetriable: true)
                }
                if let error = ClientError.kafka(
                    answer.errorCode, "DescribeGroups \(group) failed", broker: coordinator)
                {
                    throw error
                }
                let members = answer.members.map { member in
                    GroupDescription.Member(
                        memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.clientID,
                        clientHost: member.clientHost,
                        assignment: answer.protocolType == "consumer"
                            ? Self.decodeAssignment(member.memberAssignment) : []
                    )
                }
                results[group] = .success(
                    GroupDescription(
                        groupID: group, state: answer.groupState, protocolType: answer.protocolType,
                        protocolName: answer.protocolData, members: members, coordinator: coordinator
                    )
                )
            } catch {
                results[group] = .failure(KafkaClient.asClientError(error))
            }
        }
        return results
    }

    /// Deletes groups (they must be empty).
    public func deleteGroups(_ groups: [String]) async -> [String: Result<Void, ClientError>] {
        var results: [String: Result<Void, ClientError>] = [:]
        for group in groups {
            do {
                let coordinator = try await client.findCoordinator(key: group)
                var request = DeleteGroupsRequest()
                request.groupsNames = [group]
                let response = try await client.send(request, to: coordinator)
                let code =
                    response.results.first { $0.groupID == group }?.errorCode ?? ErrorCode.unknownServerError.rawValue
                results[group] = Self.result(code, "DeleteGroups \(group) failed")
            } catch {
                results[group] = .failure(KafkaClient.asClientError(error))
            }
        }
        return results
    }

    /// A group's committed offsets (of `partitions`, or all it has).
    public func listGroupOffsets(
        _ group: String, partitions: [TopicPartition]? = nil
    ) async throws -> [TopicPartition: Result<KafkaClient.CommittedOffset, ClientError>] {
        try await client.committedOffsets(group: group, partitions: partitions)
    }

    /// Sets a group's committed offsets (the group must have no active members).
    public func alterGroupOffsets(
        _ group: String, offsets: [TopicPartition: Int64]
    ) async throws -> [TopicPartition: Result<Void, ClientError>] {
        try await client.commitOffsets(group: group, offsets: offsets)
    }

    // MARK: Helpers

    static func decodeAssignment(_ bytes: ByteBuffer) -> [TopicPartition] {
        guard bytes.readableBytes >= 2, let version = bytes.getInteger(at: bytes.readerIndex, as: Int16.self) else {
            return []
        }
        var body = bytes
        body.moveReaderIndex(forwardBy: 2)
        let clamped = min(
            max(version, ConsumerProtocolAssignment.validVersions.lowerBound),
            ConsumerProtocolAssignment.validVersions.upperBound)
        guard let assignment = try? ConsumerProtocolAssignment(from: &body, version: clamped) else { return [] }
        return assignment.assignedPartitions.flatMap { topic in topic.partitions.map { TopicPartition(topic.topic, $0) }
        }
    }

    static func result(_ code: Int16, _ message: String?, topic: String? = nil) -> Result<Void, ClientError> {
        if let error = ClientError.kafka(code, message, topic: topic) { return .failure(error) }
        return .success(())
    }

    static func fillMissing<Key: Hashable, Value>(
        _ results: [Key: Result<Value, ClientError>], _ keys: [Key]
    ) -> [Key: Result<Value, ClientError>] {
        var results = results
        for key in keys where results[key] == nil {
            results[key] = .failure(
                ClientError(.protocolViolation, "the broker did not answer for \(key)", isRetriable: true))
        }
        return results
    }
}
