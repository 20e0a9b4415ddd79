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
    /// The image `apply` last brought the replicas in line with (nil before the first or after a failed one).
    private let lastApplied = NIOLockedValueBox<MetadataImage?>(nil)

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
    ///
    /// After the first call only the topics that differ from the image applied last are visited (a value
    /// comparison that is cheap for an unchanged topic: its arrays and dictionaries share storage with the last
    /// image's), so a commit that touches one topic costs that topic, not every partition of the node — with
    /// 100,000 partitions a full pass per commit made every metadata change wait for it. A change of the dynamic
    /// broker configs, which every topic's effective config reads, or a failed apply makes the next one full.
    func apply(_ image: MetadataImage) throws {
        let previous = lastApplied.withLockedValue { last in
            defer { last = nil }
            return last
        }
        if let previous, previous.brokerConfigs == image.brokerConfigs {
            for (name, old) in previous.topicsByName where image.topicsByName[name]?.topicID != old.topicID {
                for partition in old.partitions where partition.replicas.contains(nodeID) {
                    try retire(TopicPartition(name, partition.index))
                }
            }
            for (name, topic) in image.topicsByName where previous.topicsByName[name] != topic {
                let wanted = try apply(topic, image: image)
                for partition in previous.topicsByName[name]?.partitions ?? [] {
                    let topicPartition = TopicPartition(name, partition.index)
                    if partition.replicas.contains(nodeID) && !wanted.contains(topicPartition) {
                        try retire(topicPartition)
                    }
                }
            }
        } else {
            var wanted = Set<TopicPartition>()
            for topic in image.topicsByName.values {
                wanted.formUnion(try apply(topic, image: image))
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
        lastApplied.withLockedValue { $0 = image }
    }

    /// Creates or updates this node's replicas of `topic`'s partitions; returns them.
    private func apply(_ topic: MetadataImage.Topic, image: MetadataImage) throws -> Set<TopicPartition> {
        var wanted = Set<TopicPartition>()
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
        return wanted
    }

    private func retire(_ topicPartition: TopicPartition) throws {
        let removed = replicas.withLockedValue { $0.removeValue(forKey: topicPartition) }
        removed?.wakeAll()
        try logManager.deleteLog(topicPartition)
    }
}
