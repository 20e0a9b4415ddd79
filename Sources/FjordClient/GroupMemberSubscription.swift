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
