/// A member's subscription, as the group leader sees it in JoinGroup.
public struct GroupMemberSubscription: Sendable, Hashable {
    public var memberID: String
    public var groupInstanceID: String?
    public var topics: [String]
    /// Partitions the member owned before this rebalance (cooperative protocols).
    public var ownedPartitions: [TopicPartition]
    /// The generation in which it owned them, or -1.
    public var generationID: Int32

    public init(
        memberID: String, groupInstanceID: String? = nil, topics: [String], ownedPartitions: [TopicPartition] = [],
        generationID: Int32 = -1
    ) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.topics = topics
        self.ownedPartitions = ownedPartitions
        self.generationID = generationID
    }

    /// Static members sort by instance id (so restarts keep assignments), others by member id, as in Kafka.
    var sortKey: String { groupInstanceID ?? memberID }
}

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
