import KafkaProtocol

/// Partitions by topic id: a member's assignment in the KIP-848 consumer protocol.
public typealias TopicPartitionSet = [KafkaUUID: Set<Int32>]

extension Dictionary where Key == KafkaUUID, Value == Set<Int32> {
    /// The partitions in both.
    public func intersection(_ other: TopicPartitionSet) -> TopicPartitionSet {
        var result = TopicPartitionSet()
        for (topic, partitions) in self {
            let common = partitions.intersection(other[topic] ?? [])
            if !common.isEmpty { result[topic] = common }
        }
        return result
    }

    /// The partitions of `self` not in `other`.
    public func subtracting(_ other: TopicPartitionSet) -> TopicPartitionSet {
        var result = TopicPartitionSet()
        for (topic, partitions) in self {
            let rest = partitions.subtracting(other[topic] ?? [])
            if !rest.isEmpty { result[topic] = rest }
        }
        return result
    }

    /// The partitions in either.
    public func union(_ other: TopicPartitionSet) -> TopicPartitionSet {
        var result = self
        for (topic, partitions) in other where !partitions.isEmpty { result[topic, default: []].formUnion(partitions) }
        return result
    }

    public var partitionCount: Int { values.reduce(0) { $0 + $1.count } }
}

/// Where a consumer-protocol member is in reconciling towards its target assignment (KIP-848).
///
/// Legal edges, all decided in `ConsumerGroupManager.reconcile`:
/// - stable → unrevokedPartitions: the target moved some of its partitions away; it must release them first.
/// - stable/unreleasedPartitions → unreleasedPartitions: it got the new epoch, but some partitions of its target are
///   still held by members that have not released them yet.
/// - unrevokedPartitions → stable/unreleasedPartitions: its heartbeat no longer lists the revoked partitions.
/// - unreleasedPartitions → stable: the partitions were released and are now given to it.
public enum ConsumerMemberState: Sendable, Equatable {
    case stable
    case unrevokedPartitions
    case unreleasedPartitions
}

/// A member of a consumer-protocol group.
public struct ConsumerGroupMember: Sendable, Equatable {
    public var memberID: String
    public var memberEpoch: Int32
    public var previousMemberEpoch: Int32
    public var state: ConsumerMemberState
    public var rebalanceTimeoutMs: Int32
    public var subscribedTopicNames: [String]
    /// The server-side assignor the member asked for, if any.
    public var serverAssignor: String?
    /// The partitions the member may read now.
    public var assigned: TopicPartitionSet = [:]
    /// Partitions the member must give up before it advances to the group's assignment epoch.
    public var pendingRevocation: TopicPartitionSet = [:]
    public var heartbeatDeadline: Int64
    /// When revocation began; past it plus the rebalance timeout the member is fenced.
    public var revocationDeadline: Int64?
}

/// A group of the KIP-848 consumer protocol: the group epoch counts changes of membership, subscriptions and
/// subscribed topics' metadata; the assignment epoch is the group epoch the target assignment was computed for.
public struct ConsumerGroup: Sendable {
    public var groupID: String
    public var groupEpoch: Int32 = 0
    public var assignmentEpoch: Int32 = 0
    public var members: [String: ConsumerGroupMember] = [:]
    /// The assignment the server-side assignor computed for the assignment epoch.
    public var targetAssignment: [String: TopicPartitionSet] = [:]
    /// Partition counts of the subscribed topics when the group epoch was last bumped.
    public var subscribedTopics: [String: Int32] = [:]

    public init(groupID: String) {
        self.groupID = groupID
    }

    /// Every topic some member subscribes to.
    var subscribedTopicNames: Set<String> { Set(members.values.flatMap(\.subscribedTopicNames)) }
}
