import FjordReplication
import FjordStorage
import KafkaProtocol

/// Everything a `PartitionReplica` knows about its partition besides the log's bytes, owned by the replica's
/// `state` lock as one value: leadership, the high watermark, producer and transaction state, waiting fetches.
/// The replication role (`role`) is here too: leadership, the high watermark and the leader epoch follow it
/// (`adoptRole`), under the same lock.
struct PartitionReplicaState: Sendable {
    /// Leader, follower or none, with the replication core's state (`PartitionReplica+Role`).
    var role: ReplicaRole = .none
    var leaderEpoch: LeaderEpoch
    var isLeader: Bool
    var config: EffectiveTopicConfig
    /// The offset below which records are committed (see `PartitionReplica.highWatermark`).
    var highWatermark: Int64
    /// Idempotent and transactional producers, with the partition's ongoing transactions.
    var producerState: ProducerStateManager
    /// Parked fetches to wake after the next append, by id.
    var waiters: [UInt64: @Sendable () -> Void] = [:]
    var nextWaiterID: UInt64 = 0

    /// Kafka's last stable offset (see `PartitionReplica.lastStableOffset`).
    func lastStableOffset(logStartOffset: Int64) -> Int64 {
        guard let firstUnstable = producerState.firstUnstableOffset else { return highWatermark }
        return min(max(firstUnstable, logStartOffset), highWatermark)
    }
}
