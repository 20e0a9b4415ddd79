import KafkaProtocol

/// The partition changes that follow a broker's change of state or an election someone asked for: a broker fenced
/// or shutting down leaves every ISR and leadership; a broker unfenced may lead the partitions left without a
/// leader; ElectLeaders and the controller's balancing move leaderships to preferred replicas or, unclean, to any
/// live replica. One `PartitionChangeRecord` per partition that changes, as Kafka's `PartitionChangeBuilder` makes
/// them (`PartitionChangeBuilder`; without eligible leader replicas, KIP-966).
///
/// What this adds to the builder's rules, for each partition: the target ISR is the ISR without the broker
/// removed; an acceptable leader is active (unfenced, not in controlled shutdown) or the broker being added, and
/// never the broker being removed nor one leaving in the same batch.
/// - `.online` (a broker's change of state): unclean only with `unclean.leader.election.enable` on for the topic.
/// - `.preferred`: the first replica if valid, else as `.online` without the unclean step.
/// - `.unclean` (asked for explicitly): the unclean step whatever the topic's config.
struct LeaderElection {
    /// Kafka's `NO_LEADER` and `NO_LEADER_CHANGE` (the record field left unset).
    static let noLeader: Int32 = -1
    static let noLeaderChange: Int32 = -2

    /// Kafka's `PartitionChangeBuilder.Election`.
    enum Kind {
        /// After a broker's change of state: a leader from the ISR, unclean only where the topic allows it.
        case online
        /// The preferred (first) replica when it is a valid leader.
        case preferred
        /// Any live replica when no ISR member can lead.
        case unclean
    }

    let image: MetadataImage
    /// The broker leaving ISRs and leaderships, if any.
    let removing: NodeID?
    /// The broker that may lead though the image does not show it active yet (it is being unfenced), if any.
    let adding: NodeID?
    /// Brokers that may not lead though still active in the image: others being fenced in the same batch.
    var leaving: Set<NodeID> = []
    var kind: Kind = .online
    /// This controller's static `unclean.leader.election.enable`: the value for topics that set none when the
    /// cluster has no dynamic default either.
    var uncleanByDefault = false

    init(image: MetadataImage, removing: NodeID?, adding: NodeID?, leaving: Set<NodeID> = []) {
        self.image = image
        self.removing = removing
        self.adding = adding
        self.leaving = leaving
    }

    /// `unclean.leader.election.enable` for a topic: its own config, else the cluster's dynamic broker default,
    /// else `staticDefault` (Kafka's `ConfigurationControlManager.uncleanLeaderElectionEnabledForTopic`).
    static func isUncleanEnabled(for topic: MetadataImage.Topic, in image: MetadataImage, staticDefault: Bool) -> Bool {
        let key = "unclean.leader.election.enable"
        guard let value = topic.configs[key] ?? image.brokerConfigs[key] else { return staticDefault }
        return value.lowercased() == "true"
    }

    /// The records that move leaderships and shrink ISRs for `partitions`, skipping partitions that do not change.
    func changes(for partitions: [(topicID: KafkaUUID, partition: Int32)]) -> [MetadataRecord] {
        partitions.compactMap { target in
            change(topicID: target.topicID, partition: target.partition).map { .partitionChange($0) }
        }
    }

    /// The record for one partition, nil when nothing changes (or the partition is unknown).
    func change(topicID: KafkaUUID, partition index: Int32) -> PartitionChangeRecord? {
        guard let topic = image.topic(id: topicID),
            let position = topic.position(ofPartition: index)
        else { return nil }
        return change(topic.partitions[position], in: topic)
    }

    private func isAcceptable(_ replica: Int32) -> Bool {
        replica != removing && !leaving.contains(replica) && (replica == adding || image.isActive(replica))
    }

    private func change(_ partition: MetadataImage.Partition, in topic: MetadataImage.Topic) -> PartitionChangeRecord? {
        var builder = PartitionChangeBuilder(partition, of: topic, image: image)
        builder.targetISR = partition.inSyncReplicas.filter { $0 != removing }
        builder.election = kind
        builder.isAcceptable = isAcceptable
        switch kind {
        case .preferred: builder.uncleanAllowed = false
        case .unclean: builder.uncleanAllowed = true
        case .online:
            builder.uncleanAllowed = Self.isUncleanEnabled(for: topic, in: image, staticDefault: uncleanByDefault)
        }
        return builder.build()
    }
}
