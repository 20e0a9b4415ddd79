import KafkaProtocol

/// The partition changes that follow a broker's change of state or an election someone asked for: a broker fenced
/// or shutting down leaves every ISR and leadership; a broker unfenced may lead the partitions left without a
/// leader; ElectLeaders and the controller's balancing move leaderships to preferred replicas or, unclean, to any
/// live replica. One `PartitionChangeRecord` per partition that changes, as Kafka's `PartitionChangeBuilder` makes
/// them (without eligible leader replicas, KIP-966).
///
/// Rules, for each partition: the target ISR is the ISR without the broker removed. A valid leader is a member of
/// the target ISR that is acceptable: active (unfenced, not in controlled shutdown), or the broker being added, and
/// never the broker being removed.
/// - `.online` (a broker's change of state): the current leader stays if valid, else the first valid replica in
///   assignment order; with none, and `unclean.leader.election.enable` on for the topic, the first acceptable
///   replica (an unclean election); else the leader becomes -1 (NO_LEADER).
/// - `.preferred`: the first replica if valid, else as `.online` without the unclean step.
/// - `.unclean` (asked for explicitly): as `.online` with the unclean step whatever the topic's config.
/// An unclean election sets the ISR to the new leader alone and the leader recovery state to RECOVERING
/// (KIP-704): records the old ISR had and the new leader lacks are lost. An ISR is never emptied: the last member
/// stays in it while the partition has no leader, so it can lead again when it comes back.
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

    /// The elected leader (`noLeader` when none) and whether the election was unclean.
    private func elect(_ partition: MetadataImage.Partition, targetISR: [Int32], in topic: MetadataImage.Topic)
        -> (leader: Int32, unclean: Bool)
    {
        let isValidLeader = { (replica: Int32) in targetISR.contains(replica) && isAcceptable(replica) }
        if kind == .preferred, let preferred = partition.preferredLeader, isValidLeader(preferred) {
            return (preferred, false)
        }
        if isValidLeader(partition.leader) { return (partition.leader, false) }
        if let clean = partition.replicas.first(where: isValidLeader) { return (clean, false) }
        let uncleanAllowed: Bool
        switch kind {
        case .preferred: uncleanAllowed = false
        case .unclean: uncleanAllowed = true
        case .online: uncleanAllowed = Self.isUncleanEnabled(for: topic, in: image, staticDefault: uncleanByDefault)
        }
        if uncleanAllowed, let unclean = partition.replicas.first(where: isAcceptable) { return (unclean, true) }
        return (Self.noLeader, false)
    }

    private func change(_ partition: MetadataImage.Partition, in topic: MetadataImage.Topic) -> PartitionChangeRecord? {
        var targetISR = partition.inSyncReplicas.filter { $0 != removing }
        let (leader, unclean) = elect(partition, targetISR: targetISR, in: topic)
        var record = PartitionChangeRecord(partitionID: partition.index, topicID: topic.topicID)
        record.leader = leader == partition.leader ? Self.noLeaderChange : leader
        if unclean && leader != partition.leader {
            // Forced: the new leader's log is all there is now.
            targetISR = [leader]
            if partition.leaderRecoveryState != ClusterControl.leaderRecovering {
                record.leaderRecoveryState = ClusterControl.leaderRecovering
            }
        }
        if !targetISR.isEmpty && targetISR != partition.inSyncReplicas {
            record.isr = targetISR
            // Before 3.6-IV0 brokers needed a new leader epoch for every ISR shrink (KAFKA-15021).
            if record.leader == Self.noLeaderChange
                && image.metadataVersion.level < MetadataVersion.noEpochBumpOnIsrShrink
            {
                record.leader = partition.leader
            }
        }
        let changes = record.leader != Self.noLeaderChange || record.isr != nil || record.leaderRecoveryState != -1
        return changes ? record : nil
    }
}
