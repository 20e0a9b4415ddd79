import KafkaProtocol

/// One partition's next state, as Kafka's `PartitionChangeBuilder` makes it: from the partition as the image has it,
/// a target ISR and a target replica assignment, the `PartitionChangeRecord` that gets there (nil when nothing
/// changes). The one place where leaders are elected and leader epochs bumped: a broker's change of state and
/// ElectLeaders (`LeaderElection`), AlterPartition completing a move and each reassignment step
/// (`ClusterControl+Reassignment`) all build their records here.
///
/// Rules, in order:
/// 1. A reassignment in progress completes when the target ISR allows it (every staying replica in it): the
///    leaving replicas drop out of the replicas and the ISR, the adding/removing lists clear.
/// 2. A valid leader is an acceptable replica (`isAcceptable`: active, not leaving) in the ISR. `.preferred`
///    takes the first replica when valid; otherwise the current leader stays when valid and still assigned, else the
///    first valid replica in assignment order; with none, and `uncleanAllowed`, the first acceptable replica (an
///    unclean election: the ISR becomes that leader alone, its recovery state RECOVERING, KIP-704); else no leader.
/// 3. The leader epoch is bumped by a new leader, by replicas leaving the assignment (their fetches must be
///    fenced), and, before metadata version 3.6-IV0, by any ISR change (KAFKA-15021).
/// 4. An ISR is never emptied: its last member stays while the partition has no leader, so it can lead again.
struct PartitionChangeBuilder {
    let partition: MetadataImage.Partition
    let topicID: KafkaUUID
    let metadataVersion: Int16
    var targetISR: [Int32]
    /// The replica lists wanted: the partition's own unless a reassignment step changes them.
    var targetAssignment: PartitionReassignment
    var election: LeaderElection.Kind = .online
    /// Whether a replica may lead: active in the image by default.
    var isAcceptable: (Int32) -> Bool
    /// Whether a replica outside the ISR may lead when no ISR member can.
    var uncleanAllowed = false

    init(_ partition: MetadataImage.Partition, of topic: MetadataImage.Topic, image: MetadataImage) {
        self.partition = partition
        self.topicID = topic.topicID
        self.metadataVersion = image.metadataVersion.level
        self.targetISR = partition.inSyncReplicas
        self.targetAssignment = PartitionReassignment(ongoing: partition)
        self.isAcceptable = { image.isActive($0) }
    }

    func build() -> PartitionChangeRecord? {
        var assignment = targetAssignment
        var isr = targetISR
        if let completed = assignment.completed(withISR: isr) {
            assignment = PartitionReassignment(replicas: completed.replicas, adding: [], removing: [])
            isr = completed.isr
        }
        var record = PartitionChangeRecord(partitionID: partition.index, topicID: topicID)
        let (leader, unclean) = elect(from: assignment.replicas, isr: isr)
        if unclean && leader != partition.leader {
            // Forced: the new leader's log is all there is now.
            isr = [leader]
            if partition.leaderRecoveryState != ClusterControl.leaderRecovering {
                record.leaderRecoveryState = ClusterControl.leaderRecovering
            }
        }
        record.leader = leader == partition.leader ? LeaderElection.noLeaderChange : leader
        if !isr.isEmpty && isr != partition.inSyncReplicas {
            record.isr = isr
        }
        if record.leader == LeaderElection.noLeaderChange {
            let replicasLeave = !partition.replicas.allSatisfy(assignment.replicas.contains)
            let epochPerISRChange = record.isr != nil && metadataVersion < MetadataVersion.noEpochBumpOnIsrShrink
            if replicasLeave || epochPerISRChange {
                record.leader = partition.leader
            }
        }
        if assignment.replicas != partition.replicas { record.replicas = assignment.replicas }
        if assignment.adding != partition.addingReplicas { record.addingReplicas = assignment.adding }
        if assignment.removing != partition.removingReplicas { record.removingReplicas = assignment.removing }
        let changes =
            record.leader != LeaderElection.noLeaderChange || record.isr != nil || record.replicas != nil
            || record.addingReplicas != nil || record.removingReplicas != nil || record.leaderRecoveryState != -1
        return changes ? record : nil
    }

    /// The elected leader (`LeaderElection.noLeader` when none) and whether the election was unclean.
    private func elect(from replicas: [Int32], isr: [Int32]) -> (leader: Int32, unclean: Bool) {
        let isValidLeader = { (replica: Int32) in isr.contains(replica) && isAcceptable(replica) }
        if election == .preferred, let preferred = replicas.first, isValidLeader(preferred) {
            return (preferred, false)
        }
        let current = partition.leader
        if isValidLeader(current) && replicas.contains(current) { return (current, false) }
        if let clean = replicas.first(where: isValidLeader) { return (clean, false) }
        if uncleanAllowed, let unclean = replicas.first(where: isAcceptable) { return (unclean, true) }
        return (LeaderElection.noLeader, false)
    }
}
