import FjordReplication
import KafkaProtocol

@testable import FjordBroker

extension PartitionReplica {
    /// Gives this replica a role as if the controller had registered the partition on this broker alone: leader of
    /// `leaderEpoch`, or (not leading) a replica whose partition has no leader. For tests that change leadership by
    /// hand; the broker applies the image's registrations (`ReplicaManager.apply`).
    func update(leaderEpoch: LeaderEpoch, isLeader: Bool, config: EffectiveTopicConfig) {
        let partitionEpoch = (state.withLockedValue { $0.role.partitionEpoch } ?? -1) + 1
        applyRegistration(
            PartitionRegistration(
                leader: isLeader ? localID : PartitionRegistration.noLeader, leaderEpoch: leaderEpoch,
                partitionEpoch: partitionEpoch, replicas: [localID], isr: [localID]),
            localID: localID, config: config, lagTimeMaxMs: 30_000, now: PartitionReplica.replicationNow())
    }
}
