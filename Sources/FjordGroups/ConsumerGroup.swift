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
public enum ConsumerMemberState: Int8, Sendable, Equatable {
    // Kafka's MemberState values, as ConsumerGroupCurrentMemberAssignmentValue stores them.
    case stable = 0
    case unrevokedPartitions = 1
    case unreleasedPartitions = 2
}

/// A member of a consumer-protocol group.
public struct ConsumerGroupMember: Sendable, Equatable {
    public var memberID: String
    public var memberEpoch: Int32
    public var previousMemberEpoch: Int32
    public var state: ConsumerMemberState
    public var rebalanceTimeoutMs: Int32
    public var subscribedTopicNames: [String]
    /// A regular expression (whole-name match) selecting more topics, if the member subscribed by pattern.
    public var subscribedTopicRegex: String?
    /// The server-side assignor the member asked for, if any.
    public var serverAssignor: String?
    /// Static membership (KIP-345 for the consumer protocol): the member keeps its assignment across restarts.
    public var instanceID: String?
    public var rackID: String?
    public var clientID: String = ""
    public var clientHost: String = ""
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
    /// The subscribed topics (ids and partition counts) when the group epoch was last bumped.
    public var subscribedTopics: [String: AssignableTopic] = [:]

    public init(groupID: String) {
        self.groupID = groupID
    }

    /// The members that count: static members that left temporarily (epoch -2) keep their assignment but are
    /// not reconciled.
    var activeMembers: [ConsumerGroupMember] {
        members.values.filter { $0.memberEpoch != ConsumerGroupManager.staticLeaveEpoch }
    }

    /// The group's state as ListGroups and ConsumerGroupDescribe report it (Kafka's ConsumerGroupState).
    public var state: String {
        if members.isEmpty { return "Empty" }
        if groupEpoch > assignmentEpoch { return "Assigning" }
        let reconciling = activeMembers.contains { $0.memberEpoch != assignmentEpoch || $0.state != .stable }
        return reconciling ? "Reconciling" : "Stable"
    }
}
