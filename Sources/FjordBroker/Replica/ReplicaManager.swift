import FjordController
import FjordReplication
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
    /// The partitions this broker follows, with their leader (kept by `apply`), and a version that moves with every
    /// change: the replica fetchers (`ReplicaFetcherManager`) follow it.
    private let followed = NIOLockedValueBox<(leaders: [TopicPartition: NodeID], version: UInt64)>(([:], 0))
    /// The image `apply` last brought the replicas in line with (nil before the first or after a failed one).
    private let lastApplied = NIOLockedValueBox<MetadataImage?>(nil)

    /// Kafka's `replica.lag.time.max.ms` (default 30 s): a follower that has not caught up for this long leaves
    /// the ISR.
    let replicaLagTimeMaxMs: Int64

    /// The high watermarks of the previous run (`replication-offset-checkpoint`), read once at start: each
    /// replica opened later starts from its own.
    private let checkpointedHighWatermarks: [TopicPartition: Int64]

    init(nodeID: NodeID, logManager: LogManager, brokerProperties: [String: String], logger: Logger) {
        self.nodeID = nodeID
        self.logManager = logManager
        self.brokerProperties = brokerProperties
        self.logger = logger
        replicaLagTimeMaxMs = brokerProperties["replica.lag.time.max.ms"].flatMap { Int64($0) } ?? 30_000
        checkpointedHighWatermarks = logManager.readHighWatermarks()
        let replicas = self.replicas
        logManager.setHighWatermarkSource {
            replicas.withLockedValue { $0 }.mapValues(\.highWatermark)
        }
    }

    /// AlterPartition proposals of the partitions this broker leads, waiting for the `ISRChangeSender` (the replica
    /// and the proposal; a newer proposal of the same partition replaces an older one).
    private let proposals = NIOLockedValueBox<[TopicPartition: (PartitionReplica, AlterPartitionProposal)]>([:])

    /// Hands the leader outputs that need more than the replica itself (an ISR change for the controller) to their
    /// owner. Completed acks=all produces are answered by their purgatory, not yet here.
    func dispatch(_ outputs: [LeaderOutput], of replica: PartitionReplica) {
        for case .sendAlterPartition(let proposal) in outputs {
            proposals.withLockedValue { $0[replica.topicPartition] = (replica, proposal) }
        }
    }

    /// Takes the waiting AlterPartition proposals.
    func takeProposals() -> [(PartitionReplica, AlterPartitionProposal)] {
        proposals.withLockedValue { proposals in
            defer { proposals = [:] }
            return Array(proposals.values)
        }
    }

    /// The partitions this broker follows by leader, and the version of that table.
    var followedPartitions: (leaders: [TopicPartition: NodeID], version: UInt64) { followed.withLockedValue { $0 } }

    private func noteFollowing(_ topicPartition: TopicPartition, leader: NodeID?) {
        followed.withLockedValue { followed in
            guard followed.leaders[topicPartition] != leader else { return }
            followed.leaders[topicPartition] = leader
            followed.version &+= 1
        }
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
        let ineligible = Self.ineligibleReplicas(image)
        if let previous, previous.brokerConfigs == image.brokerConfigs, previous.nodeConfigs == image.nodeConfigs {
            for (name, old) in previous.topicsByName where image.topicsByName[name]?.topicID != old.topicID {
                for partition in old.partitions where partition.replicas.contains(nodeID) {
                    try retire(TopicPartition(name, partition.index))
                }
            }
            for (name, topic) in image.topicsByName where previous.topicsByName[name] != topic {
                let wanted = try apply(topic, image: image, ineligible: ineligible)
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
                wanted.formUnion(try apply(topic, image: image, ineligible: ineligible))
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
        if let previous, Self.ineligibleReplicas(previous) != ineligible {
            // A broker fenced or shutting down: every partition this broker leads stops waiting for it, also those
            // whose registration did not change (it was outside their ISR, but caught up).
            let now = PartitionReplica.replicationNow()
            for replica in allReplicas.values where replica.isLeader {
                dispatch(replica.replicasBecameIneligible(ineligible, now: now), of: replica)
            }
        }
        lastApplied.withLockedValue { $0 = image }
    }

    /// The registered brokers that may not be in an ISR: fenced or in controlled shutdown (Kafka's
    /// `isReplicaIsrEligible`).
    static func ineligibleReplicas(_ image: MetadataImage) -> Set<NodeID> {
        Set(image.brokerRegistrations.lazy.filter { !$0.value.isActive }.map(\.key))
    }

    /// Creates or updates this node's replicas of `topic`'s partitions; returns them.
    private func apply(_ topic: MetadataImage.Topic, image: MetadataImage, ineligible: Set<NodeID>) throws
        -> Set<TopicPartition>
    {
        var wanted = Set<TopicPartition>()
        let config = EffectiveTopicConfig(
            topic: topic, image: image, brokerProperties: brokerProperties, nodeID: nodeID)
        for partition in topic.partitions where partition.replicas.contains(nodeID) {
            let topicPartition = TopicPartition(topic.name, partition.index)
            wanted.insert(topicPartition)
            let registration = PartitionRegistration(
                leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch,
                replicas: partition.replicas, isr: partition.inSyncReplicas)
            let isFollowing = partition.leader != nodeID && partition.leader >= 0
            noteFollowing(topicPartition, leader: isFollowing ? partition.leader : nil)
            if let existing = replica(for: topicPartition), existing.topicID == topic.topicID {
                existing.applyRegistration(
                    registration, localID: nodeID, config: config, lagTimeMaxMs: replicaLagTimeMaxMs,
                    ineligible: ineligible, now: PartitionReplica.replicationNow())
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
                topicPartition: topicPartition, topicID: topic.topicID, log: log, localID: nodeID, config: config,
                checkpointedHighWatermark: checkpointedHighWatermarks[topicPartition])
            replica.applyRegistration(
                registration, localID: nodeID, config: config, lagTimeMaxMs: replicaLagTimeMaxMs,
                ineligible: ineligible, now: PartitionReplica.replicationNow())
            replicas.withLockedValue { $0[topicPartition] = replica }
        }
        return wanted
    }

    private func retire(_ topicPartition: TopicPartition) throws {
        noteFollowing(topicPartition, leader: nil)
        let removed = replicas.withLockedValue { $0.removeValue(forKey: topicPartition) }
        removed?.wakeAll()
        try logManager.deleteLog(topicPartition)
    }
}
