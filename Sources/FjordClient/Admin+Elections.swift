import KafkaProtocol

/// Leader elections (ElectLeaders, KIP-460), as `kafka-leader-election.sh` and the Java Admin's `electLeaders` ask
/// for them: preferred (move leadership back to each partition's first replica) or unclean (give a partition with
/// no leader any live replica, at the risk of losing records).
extension Admin {
    /// Kafka's `ElectionType`.
    public enum ElectionType: Int8, Sendable, CaseIterable {
        case preferred = 0
        case unclean = 1
    }

    /// Elects leaders for `partitions`, or for every partition when nil (then only the partitions that needed an
    /// election are answered). One result per partition: success, or its error — ELECTION_NOT_NEEDED when the
    /// wanted leader already leads, PREFERRED_LEADER_NOT_AVAILABLE or ELIGIBLE_LEADERS_NOT_AVAILABLE when no
    /// replica qualifies, UNKNOWN_TOPIC_OR_PARTITION. A refusal of the whole request is thrown.
    public func electLeaders(
        _ type: ElectionType, partitions: [TopicPartition]?, timeout: Duration = .seconds(30)
    ) async throws -> [TopicPartition: Result<Void, ClientError>] {
        var request = ElectLeadersRequest()
        request.electionType = type.rawValue
        request.timeoutMs = timeout.millisecondsInt32
        request.topicPartitions = partitions.map { named in
            Dictionary(grouping: named, by: \.topic).sorted { $0.key < $1.key }.map { topic, parts in
                ElectLeadersRequest.TopicPartitions(topic: topic, partitions: parts.map(\.partition).sorted())
            }
        }
        // Any broker: brokers forward it to the active controller.
        let response = try await client.sendToAny(request)
        if let error = ClientError.kafka(response.errorCode, "ElectLeaders refused") { throw error }
        var results: [TopicPartition: Result<Void, ClientError>] = [:]
        for topic in response.replicaElectionResults {
            for answer in topic.partitionResult {
                let partition = TopicPartition(topic.topic, answer.partitionID)
                if let error = ClientError.kafka(
                    answer.errorCode, answer.errorMessage, topic: topic.topic, partition: answer.partitionID)
                {
                    results[partition] = .failure(error)
                } else {
                    results[partition] = .success(())
                }
            }
        }
        await client.invalidateMetadata()
        return partitions.map { Self.fillMissing(results, $0) } ?? results
    }
}
