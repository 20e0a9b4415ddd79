import KafkaProtocol

/// Partition reassignment (KIP-455), as `kafka-reassign-partitions.sh` and the Java Admin's
/// `alterPartitionReassignments` / `listPartitionReassignments` use it: move a partition's replicas to other
/// brokers (the new ones catch up, then the old ones are dropped), replace or cancel a move, and see the moves in
/// progress.
extension Admin {
    /// A move in progress: the replica list while it runs (the target, then the replicas leaving), the replicas
    /// being added and those being removed.
    public struct PartitionReassignment: Sendable, Equatable {
        public var replicas: [Int32]
        public var addingReplicas: [Int32]
        public var removingReplicas: [Int32]

        public init(replicas: [Int32], addingReplicas: [Int32], removingReplicas: [Int32]) {
            self.replicas = replicas
            self.addingReplicas = addingReplicas
            self.removingReplicas = removingReplicas
        }

        /// The replicas the partition will have once the move completes.
        public var targetReplicas: [Int32] { replicas.filter { !removingReplicas.contains($0) } }
    }

    /// Starts a move of each partition to its target replicas, or cancels the partition's move in progress (a nil
    /// target). One result per partition: success, or its error — INVALID_REPLICA_ASSIGNMENT (an empty list, a
    /// broker twice or an unknown broker), NO_REASSIGNMENT_IN_PROGRESS (nothing to cancel),
    /// UNKNOWN_TOPIC_OR_PARTITION. A refusal of the whole request is thrown.
    public func alterPartitionReassignments(
        _ targets: [TopicPartition: [Int32]?], timeout: Duration = .seconds(60)
    ) async throws -> [TopicPartition: Result<Void, ClientError>] {
        var request = AlterPartitionReassignmentsRequest()
        request.timeoutMs = timeout.millisecondsInt32
        request.topics = Dictionary(grouping: targets.keys, by: \.topic).sorted { $0.key < $1.key }.map {
            topic, parts in
            AlterPartitionReassignmentsRequest.ReassignableTopic(
                name: topic,
                partitions: parts.sorted().map { .init(partitionIndex: $0.partition, replicas: targets[$0] ?? nil) })
        }
        // Any broker: brokers forward it to the active controller.
        let response = try await client.sendToAny(request)
        if let error = ClientError.kafka(
            response.errorCode, response.errorMessage ?? "AlterPartitionReassignments refused")
        {
            throw error
        }
        var results: [TopicPartition: Result<Void, ClientError>] = [:]
        for topic in response.responses {
            for answer in topic.partitions {
                results[TopicPartition(topic.name, answer.partitionIndex)] = Self.result(
                    answer.errorCode, answer.errorMessage, topic: topic.name)
            }
        }
        await client.invalidateMetadata()
        return Self.fillMissing(results, Array(targets.keys))
    }

    /// The moves in progress among `partitions`, or of every partition when nil; a partition that is not moving
    /// (or does not exist) is absent.
    public func listPartitionReassignments(_ partitions: [TopicPartition]? = nil, timeout: Duration = .seconds(30))
        async throws -> [TopicPartition: PartitionReassignment]
    {
        var request = ListPartitionReassignmentsRequest()
        request.timeoutMs = timeout.millisecondsInt32
        request.topics = partitions.map { named in
            Dictionary(grouping: named, by: \.topic).sorted { $0.key < $1.key }.map { topic, parts in
                ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics(
                    name: topic, partitionIndexes: parts.map(\.partition).sorted())
            }
        }
        let response = try await client.sendToAny(request)
        if let error = ClientError.kafka(
            response.errorCode, response.errorMessage ?? "ListPartitionReassignments refused")
        {
            throw error
        }
        var moves: [TopicPartition: PartitionReassignment] = [:]
        for topic in response.topics {
            for partition in topic.partitions {
                moves[TopicPartition(topic.name, partition.partitionIndex)] = PartitionReassignment(
                    replicas: partition.replicas, addingReplicas: partition.addingReplicas,
                    removingReplicas: partition.removingReplicas)
            }
        }
        return moves
    }
}
