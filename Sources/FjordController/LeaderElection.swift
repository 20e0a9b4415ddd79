import KafkaProtocol

/// The partition changes that follow a broker's change of state: a broker fenced or shutting down leaves every ISR
/// and leadership; a broker unfenced may lead the partitions left without a leader. One `PartitionChangeRecord` per
/// partition that changes, as Kafka's `PartitionChangeBuilder` makes them with eligible leader replicas (KIP-966)
/// and unclean election off.
///
/// Rules, for each partition: the target ISR is the ISR without the broker removed; the current leader stays if it
/// is still in the target ISR and acceptable, else the first replica (in assignment order) that is; with none the
/// leader becomes -1 (NO_LEADER). An ISR is never emptied: the last member stays in it while the partition has no
/// leader, so it can lead again when it comes back. Acceptable means active (unfenced, not in controlled
/// shutdown), or the broker being added, and never the broker being removed.
struct LeaderElection {
    /// Kafka's `NO_LEADER` and `NO_LEADER_CHANGE` (the record field left unset).
    static let noLeader: Int32 = -1
    static let noLeaderChange: Int32 = -2

    let image: MetadataImage
    /// The broker leaving ISRs and leaderships, if any.
    let removing: NodeID?
    /// The broker that may lead though the image does not show it active yet (it is being unfenced), if any.
    let adding: NodeID?
    /// Brokers that may not lead though still active in the image: others being fenced in the same batch.
    var leaving: Set<NodeID> = []

    /// The records that move leaderships and shrink ISRs for `partitions`, skipping partitions that do not change.
    func changes(for partitions: [(topicID: KafkaUUID, partition: Int32)]) -> [MetadataRecord] {
        partitions.compactMap { target in
            guard
                let partition = image.topic(id: target.topicID)?.partitions.first(where: {
                    $0.index == target.partition
                })
            else { return nil }
            return change(partition, topicID: target.topicID).map { .partitionChange($0) }
        }
    }

    private func isAcceptable(_ replica: Int32) -> Bool {
        replica != removing && !leaving.contains(replica) && (replica == adding || image.isActive(replica))
    }

    private func change(_ partition: MetadataImage.Partition, topicID: KafkaUUID) -> PartitionChangeRecord? {
        let targetISR = partition.inSyncReplicas.filter { $0 != removing }
        let isValidLeader = { (replica: Int32) in targetISR.contains(replica) && isAcceptable(replica) }
        let leader =
            isValidLeader(partition.leader)
            ? partition.leader : (partition.replicas.first(where: isValidLeader) ?? Self.noLeader)
        var record = PartitionChangeRecord(partitionID: partition.index, topicID: topicID)
        record.leader = leader == partition.leader ? Self.noLeaderChange : leader
        if !targetISR.isEmpty && targetISR != partition.inSyncReplicas {
            record.isr = targetISR
            // Before 3.6-IV0 brokers needed a new leader epoch for every ISR shrink (KAFKA-15021).
            if record.leader == Self.noLeaderChange
                && image.metadataVersion.level < MetadataVersion.noEpochBumpOnIsrShrink
            {
                record.leader = partition.leader
            }
        }
        return record.leader == Self.noLeaderChange && record.isr == nil ? nil : record
    }
}
