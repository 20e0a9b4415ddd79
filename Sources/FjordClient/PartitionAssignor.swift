/// Computes a group's assignment on the leader (the classic protocol's client-side assignment). Pure: same input,
/// same output.
public protocol PartitionAssignor: Sendable {
    /// The protocol name sent in JoinGroup (`range`, `roundrobin`, `cooperative-sticky`).
    var name: String { get }
    /// Whether members keep partitions across a rebalance and only revoke those that move (cooperative
    /// incremental rebalancing) instead of revoking everything first (eager).
    var isCooperative: Bool { get }
    /// The partitions of each member, by member id; every member gets an entry.
    func assign(
        members: [GroupMemberSubscription], partitionsPerTopic: [String: Int]
    ) -> [String: [TopicPartition]]
}
