import FjordController
import FjordReplication
import KafkaProtocol
import NIOConcurrencyHelpers

/// This broker's replication quotas (KIP-73), as Kafka's leader and follower `ReplicationQuotaManager`s: the rates
/// come from the dynamic broker configs `leader.replication.throttled.rate` and `follower.replication.throttled.rate`
/// (this broker's own, else the cluster-wide default; unlimited when neither is set), the throttled replicas from each topic's `leader.replication.throttled.replicas` /
/// `follower.replication.throttled.replicas` (`partition:broker` pairs naming this broker, or `*`), the windows from
/// `replication.quota.window.num` (11) and `replication.quota.window.size.seconds` (1). Only replicas out of the
/// ISR are held back (an in-sync follower is never slowed, as in Kafka); their bytes count either way.
///
/// The leader asks `leaderHoldsBack` before reading for a follower and counts what it sent with `leaderSent`; the
/// follower leaves a partition out of its next fetch while `followerHoldsBack` and counts what it received with
/// `followerFetched`. Each quota is one `NIOLockedValueBox` (a leaf lock, held for arithmetic only).
final class ReplicationThrottles: Sendable {
    static let leaderRateKey = "leader.replication.throttled.rate"
    static let followerRateKey = "follower.replication.throttled.rate"
    static let leaderReplicasKey = "leader.replication.throttled.replicas"
    static let followerReplicasKey = "follower.replication.throttled.replicas"

    private let localID: NodeID
    private let publisher: MetadataPublisher
    private let leader: NIOLockedValueBox<ReplicationQuota>
    private let follower: NIOLockedValueBox<ReplicationQuota>

    init(localID: NodeID, publisher: MetadataPublisher, properties: [String: String]) {
        self.localID = localID
        self.publisher = publisher
        let count = properties["replication.quota.window.num"].flatMap { Int($0) } ?? 11
        let seconds = properties["replication.quota.window.size.seconds"].flatMap { Int64($0) } ?? 1
        leader = NIOLockedValueBox(ReplicationQuota(windowCount: count, windowMs: seconds * 1000))
        follower = NIOLockedValueBox(ReplicationQuota(windowCount: count, windowMs: seconds * 1000))
    }

    /// Whether the leader sends `follower` no records of `partition` now.
    func leaderHoldsBack(_ partition: TopicPartition, follower replica: NodeID, now: Int64) -> Bool {
        holdsBack(
            partition, replica: replica, quota: leader, rateKey: Self.leaderRateKey,
            replicasKey: Self.leaderReplicasKey, now: now)
    }

    func leaderSent(_ partition: TopicPartition, bytes: Int, now: Int64) {
        count(partition, bytes: bytes, quota: leader, replicasKey: Self.leaderReplicasKey, now: now)
    }

    /// Whether this follower leaves `partition` out of its next fetch.
    func followerHoldsBack(_ partition: TopicPartition, now: Int64) -> Bool {
        holdsBack(
            partition, replica: localID, quota: follower, rateKey: Self.followerRateKey,
            replicasKey: Self.followerReplicasKey, now: now)
    }

    func followerFetched(_ partition: TopicPartition, bytes: Int, now: Int64) {
        count(partition, bytes: bytes, quota: follower, replicasKey: Self.followerReplicasKey, now: now)
    }

    private func holdsBack(
        _ partition: TopicPartition, replica: NodeID, quota: NIOLockedValueBox<ReplicationQuota>, rateKey: String,
        replicasKey: String, now: Int64
    ) -> Bool {
        let image = publisher.image
        guard let topic = image.topicsByName[partition.topic], isThrottled(partition, in: topic, replicasKey),
            topic.partitions.first(where: { $0.index == partition.partition })?.inSyncReplicas.contains(replica)
                == false
        else { return false }
        let rate =
            image.brokerConfig(rateKey, for: localID).flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) } ?? .max
        return quota.withLockedValue { quota in
            quota.bytesPerSecond = rate
            return quota.isExceeded(now: now)
        }
    }

    private func count(
        _ partition: TopicPartition, bytes: Int, quota: NIOLockedValueBox<ReplicationQuota>, replicasKey: String,
        now: Int64
    ) {
        guard bytes > 0, let topic = publisher.image.topicsByName[partition.topic],
            isThrottled(partition, in: topic, replicasKey)
        else { return }
        quota.withLockedValue { $0.record(bytes, now: now) }
    }

    private func isThrottled(_ partition: TopicPartition, in topic: MetadataImage.Topic, _ key: String) -> Bool {
        guard let value = topic.configs[key], let replicas = ThrottledReplicas(parsing: value) else { return false }
        return replicas.throttles(partition: partition.partition, broker: localID)
    }
}
