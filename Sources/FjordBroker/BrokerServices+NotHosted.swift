import KafkaProtocol

extension BrokerServices {
    /// The error for a partition this broker has no replica of: NOT_LEADER_OR_FOLLOWER when the metadata image knows
    /// it (it lives on other brokers: the client's metadata is stale and a refresh finds the leader), else
    /// UNKNOWN_TOPIC_OR_PARTITION — Kafka's `ReplicaManager.getPartitionOrException`.
    func notHostedError(_ topicPartition: TopicPartition) -> ErrorCode {
        let partitions = image.topic(named: topicPartition.topic)?.partitions ?? []
        return partitions.contains { $0.index == topicPartition.partition }
            ? .notLeaderOrFollower : .unknownTopicOrPartition
    }
}
