import FjordController
import FjordStorage
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers

/// The partitions this node holds, kept in step with the metadata image: a partition assigned to this node gets a
/// log and a `PartitionReplica`; a partition whose topic is deleted loses both (its folder is removed in the
/// background).
///
/// The table of replicas is behind its own lock (`replicas`), a leaf held only to look up, copy or change the
/// table. `apply` runs on the metadata path, holding `MetadataService`'s lock, so one apply runs at a time.
final class ReplicaManager: Sendable {
    let nodeID: NodeID
    let logManager: LogManager
    let brokerProperties: [String: String]
    private let logger: Logger
    private let replicas = NIOLockedValueBox<[TopicPartition: PartitionReplica]>([:])

    init(nodeID: NodeID, logManager: LogManager, brokerProperties: [String: String], logger: Logger) {
        self.nodeID = nodeID
        self.logManager = logManager
        self.brokerProperties = brokerProperties
        self.logger = logger
    }

    func replica(for topicPartition: TopicPartition) -> PartitionReplica? {
        replicas.withLockedValue { $0[topicPartition] }
    }

    var allReplicas: [TopicPartition: PartitionReplica] { replicas.withLockedValue { $0 } }

    /// Brings the replicas in line with `image`. Blocking (creates and deletes folders): call it off the loops.
    func apply(_ image: MetadataImage) throws {
        var wanted = Set<TopicPartition>()
        for topic in image.topicsByName.values {
            let config = EffectiveTopicConfig(topic: topic, image: image, brokerProperties: brokerProperties)
            for partition in topic.partitions where partition.replicas.contains(nodeID) {
                let topicPartition = TopicPartition(topic.name, partition.index)
                wanted.insert(topicPartition)
                if let existing = replica(for: topicPartition), existing.topicID == topic.topicID {
                    existing.update(
                        leaderEpoch: partition.leaderEpoch, isLeader: partition.leader == nodeID, config: config)
                    continue
                }
                if let stale = replica(for: topicPartition) {
                    // Same name, new topic id: the old topic's data must go.
                    try retire(stale.topicPartition)
                }
                let log =
                    try logManager.log(for: topicPartition).flatMap { $0.topicID == topic.topicID ? $0 : nil }
                    ?? logManager.createLog(
                        topicPartition, topicID: topic.topicID, configuration: config.logConfiguration)
                log.configuration = config.logConfiguration
                let replica = PartitionReplica(
                    topicPartition: topicPartition, topicID: topic.topicID, log: log,
                    leaderEpoch: partition.leaderEpoch,
                    isLeader: partition.leader == nodeID, config: config
                )
                replicas.withLockedValue { $0[topicPartition] = replica }
            }
        }
        for topicPartition in allReplicas.keys where !wanted.contains(topicPartition) {
            try retire(topicPartition)
        }
        // Logs on disk for topics the metadata no longer knows (deleted while the broker was down).
        for topicPartition in logManager.allLogs.keys
        where !wanted.contains(topicPartition) && topicPartition.topic != MetadataService.topicName {
            logger.info("deleting log of a removed topic", metadata: ["partition": "\(topicPartition)"])
            try logManager.deleteLog(topicPartition)
        }
    }

    private func retire(_ topicPartition: TopicPartition) throws {
        let removed = replicas.withLockedValue { $0.removeValue(forKey: topicPartition) }
        removed?.wakeAll()
        try logManager.deleteLog(topicPartition)
    }
}
