import KafkaProtocol

/// The KIP-848 consumer protocol as a pure state machine (STYLE.md §6): ConsumerGroupHeartbeat joins, leaves and
/// reconciles members towards the target assignment the server-side assignor (`uniform` or `range`)
/// computes.
///
/// Incremental reconciliation: a member first gives up the partitions its target moved away (it keeps its epoch
/// and must send a heartbeat that no longer owns them), then advances to the assignment epoch and receives the
/// partitions of its target that no other member still holds; the rest follow once they are released. So a
/// partition is never assigned to two members at once.
///
/// Not yet: persistence as ConsumerGroup* records, static members (instance ids), regular-expression subscriptions,
/// and ConsumerGroupDescribe. Nothing registers a handler for it, so ApiVersions does not
/// advertise ConsumerGroupHeartbeat until those exist.
public struct ConsumerGroupManager: Sendable {
    /// Limits and intervals.
    public struct Configuration: Sendable {
        /// Kafka: `group.consumer.session.timeout.ms`. Default 45000.
        public var sessionTimeoutMs: Int32 = 45_000
        /// Kafka: `group.consumer.heartbeat.interval.ms`. Default 5000.
        public var heartbeatIntervalMs: Int32 = 5000
        /// Members per group. Kafka: `group.consumer.max.size`. Default Int32.max.
        public var maxSize: Int = Int(Int32.max)
        /// Topics one member may subscribe to (bounds memory; Kafka has none).
        public var subscribedTopicsMax: Int = 10_000

        public init() {}
    }

    /// What the heartbeat needs besides the request.
    public struct HeartbeatContext: Sendable {
        /// The id a joining member gets when it sent none (version 0; from version 1 the client chooses it).
        public var newMemberID: String
        /// The topics that exist, by name.
        public var topics: [String: AssignableTopic]
        public var now: Int64

        public init(newMemberID: String, topics: [String: AssignableTopic], now: Int64) {
            self.newMemberID = newMemberID
            self.topics = topics
            self.now = now
        }
    }

    public var configuration: Configuration
    public internal(set) var groups: [String: ConsumerGroup] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public mutating func heartbeat(_ request: ConsumerGroupHeartbeatRequest, context: HeartbeatContext) -> ConsumerGroupHeartbeatResponse {
        if let error = validate(request) { return Self.failure(error.0, error.1) }
        var group = groups[request.groupID] ?? ConsumerGroup(groupID: request.groupID)
        if request.memberEpoch < 0 {
            return leave(request, group: &group)
        }
        let joining = request.memberEpoch == 0
        let memberID = joining && request.memberID.isEmpty ? context.newMemberID : request.memberID
        var member: ConsumerGroupMember
        if var existing = group.members[memberID] {
            if !joining, let error = fencing(existing, request: request) { return Self.failure(error, nil) }
            if joining {
                // A member rejoining with epoch 0 owns nothing any more: what it had is free for others.
                existing.assigned = [:]
                existing.pendingRevocation = [:]
                existing.revocationDeadline = nil
                existing.state = .stable
                existing.previousMemberEpoch = existing.memberEpoch
                existing.memberEpoch = 0
            }
            member = existing
        } else {
            guard joining else { return Self.failure(.unknownMemberID, nil) }
            guard group.members.count < configuration.maxSize else { return Self.failure(.groupMaxSizeReached, nil) }
            member = ConsumerGroupMember(
                memberID: memberID, memberEpoch: 0, previousMemberEpoch: -1, state: .stable,
                rebalanceTimeoutMs: request.rebalanceTimeoutMs, subscribedTopicNames: [], heartbeatDeadline: 0
            )
        }
        let previous = member
        member.heartbeatDeadline = context.now + Int64(configuration.sessionTimeoutMs)
        if request.rebalanceTimeoutMs > 0 { member.rebalanceTimeoutMs = request.rebalanceTimeoutMs }
        var bump = group.members[memberID] == nil
        if let assignor = request.serverAssignor, assignor != member.serverAssignor {
            member.serverAssignor = assignor
            bump = true
        }
        if let names = request.subscribedTopicNames, Set(names) != Set(member.subscribedTopicNames) {
            member.subscribedTopicNames = names.sorted()
            bump = true
        }
        group.members[memberID] = member
        let metadata = Self.subscribedMetadata(group, topics: context.topics)
        if metadata != group.subscribedTopics {
            group.subscribedTopics = metadata
            bump = true
        }
        if bump { group.groupEpoch += 1 }
        if group.groupEpoch > group.assignmentEpoch { computeTargetAssignment(&group, topics: context.topics) }
        let owned = request.topicPartitions.map { Self.partitionSet($0) }
        reconcile(&group, memberID: memberID, owned: owned, now: context.now)
        member = group.members[memberID]!
        groups[request.groupID] = group
        let changed = member.assigned != previous.assigned || joining || member.memberEpoch != previous.memberEpoch
            || (owned.map { $0 != member.assigned } ?? false)
        return ConsumerGroupHeartbeatResponse(
            memberID: memberID, memberEpoch: member.memberEpoch, heartbeatIntervalMs: configuration.heartbeatIntervalMs,
            assignment: changed ? Self.assignment(member.assigned) : nil
        )
    }

    /// Members whose session ended, or that did not release their partitions within the rebalance timeout, are
    /// removed; each removal bumps the group epoch and the target assignment is recomputed on the next heartbeat.
    public mutating func tick(now: Int64, topics: [String: AssignableTopic]) {
        for groupID in groups.keys.sorted() {
            guard var group = groups[groupID] else { continue }
            let expired = group.members.values.filter { member in
                member.heartbeatDeadline <= now || (member.revocationDeadline.map { $0 <= now } ?? false)
            }
            guard !expired.isEmpty else { continue }
            for member in expired {
                group.members[member.memberID] = nil
                group.targetAssignment[member.memberID] = nil
            }
            group.groupEpoch += 1
            group.subscribedTopics = Self.subscribedMetadata(group, topics: topics)
            computeTargetAssignment(&group, topics: topics)
            groups[groupID] = group
        }
    }

    // MARK: Steps

    private func validate(_ request: ConsumerGroupHeartbeatRequest) -> (ErrorCode, String)? {
        if request.groupID.isEmpty { return (.invalidRequest, "GroupId can't be empty.") }
        if request.instanceID != nil { return (.invalidRequest, "Static membership is not supported yet.") }
        if request.subscribedTopicRegex != nil { return (.invalidRequest, "Regular-expression subscriptions are not supported yet.") }
        if let assignor = request.serverAssignor, !Self.assignors.contains(assignor) {
            return (.unsupportedAssignor, "ServerAssignor \(assignor) is not supported.")
        }
        if (request.subscribedTopicNames?.count ?? 0) > configuration.subscribedTopicsMax {
            return (.invalidRequest, "Too many subscribed topics.")
        }
        switch request.memberEpoch {
        case 0:
            if request.rebalanceTimeoutMs == -1 { return (.invalidRequest, "RebalanceTimeoutMs must be provided in first request.") }
            if request.topicPartitions.map({ !$0.isEmpty }) ?? true {
                return (.invalidRequest, "TopicPartitions must be empty when (re-)joining.")
            }
            if request.subscribedTopicNames == nil { return (.invalidRequest, "SubscribedTopicNames must be set in first request.") }
        case -1, -2:
            if request.memberID.isEmpty { return (.invalidRequest, "MemberId can't be empty.") }
        default:
            if request.memberID.isEmpty { return (.invalidRequest, "MemberId can't be empty.") }
            if request.memberEpoch < 0 { return (.invalidRequest, "MemberEpoch is invalid.") }
        }
        return nil
    }

    /// FENCED_MEMBER_EPOCH unless the epoch is the member's, or its previous one with nothing owned beyond its
    /// assignment (the answer that advanced it was lost).
    private func fencing(_ member: ConsumerGroupMember, request: ConsumerGroupHeartbeatRequest) -> ErrorCode? {
        if request.memberEpoch == member.memberEpoch { return nil }
        if request.memberEpoch == member.previousMemberEpoch, let owned = request.topicPartitions,
           Self.partitionSet(owned).subtracting(member.assigned).isEmpty {
            return nil
        }
        return .fencedMemberEpoch
    }

    private mutating func leave(_ request: ConsumerGroupHeartbeatRequest, group: inout ConsumerGroup) -> ConsumerGroupHeartbeatResponse {
        guard group.members[request.memberID] != nil else { return Self.failure(.unknownMemberID, nil) }
        group.members[request.memberID] = nil
        group.targetAssignment[request.memberID] = nil
        group.groupEpoch += 1
        groups[request.groupID] = group
        return ConsumerGroupHeartbeatResponse(memberID: request.memberID, memberEpoch: request.memberEpoch, heartbeatIntervalMs: 0)
    }

    private func computeTargetAssignment(_ group: inout ConsumerGroup, topics: [String: AssignableTopic]) {
        let subscriptions = group.members.mapValues(\.subscribedTopicNames)
        switch Self.preferredAssignor(group) {
        case "range": group.targetAssignment = RangeAssignor.assign(subscriptions: subscriptions, topics: topics)
        default:
            group.targetAssignment = UniformAssignor.assign(subscriptions: subscriptions, topics: topics, current: group.targetAssignment)
        }
        group.assignmentEpoch = group.groupEpoch
    }

    /// Moves one member towards its target (the edges are listed on `ConsumerMemberState`).
    mutating func reconcile(_ group: inout ConsumerGroup, memberID: String, owned: TopicPartitionSet?, now: Int64) {
        guard var member = group.members[memberID] else { return }
        if member.state == .unrevokedPartitions {
            // Released once the heartbeat no longer owns any partition pending revocation.
            guard let owned, owned.intersection(member.pendingRevocation).isEmpty else {
                group.members[memberID] = member
                return
            }
            member.pendingRevocation = [:]
            member.revocationDeadline = nil
        }
        let target = group.targetAssignment[memberID] ?? [:]
        if member.memberEpoch == group.assignmentEpoch, member.state == .stable {
            group.members[memberID] = member
            return
        }
        let revoke = member.assigned.subtracting(target)
        if !revoke.isEmpty {
            member.assigned = member.assigned.intersection(target)
            member.pendingRevocation = revoke
            member.state = .unrevokedPartitions
            member.revocationDeadline = now + Int64(member.rebalanceTimeoutMs)
            group.members[memberID] = member
            return
        }
        var heldElsewhere = TopicPartitionSet()
        for other in group.members.values where other.memberID != memberID {
            heldElsewhere = heldElsewhere.union(other.assigned).union(other.pendingRevocation)
        }
        let newlyTargeted = target.subtracting(member.assigned)
        let unreleased = newlyTargeted.intersection(heldElsewhere)
        member.assigned = member.assigned.union(newlyTargeted.subtracting(unreleased))
        if member.memberEpoch != group.assignmentEpoch {
            member.previousMemberEpoch = member.memberEpoch
            member.memberEpoch = group.assignmentEpoch
        }
        member.state = unreleased.isEmpty ? .stable : .unreleasedPartitions
        group.members[memberID] = member
    }

    // MARK: Helpers

    /// The server-side assignors, the default first. Kafka: `group.consumer.assignors` (default uniform, range).
    static let assignors = ["uniform", "range"]

    /// The assignor most members asked for (ties to the earlier in `assignors`), else the default (as Kafka does).
    static func preferredAssignor(_ group: ConsumerGroup) -> String {
        var votes = [String: Int]()
        for member in group.members.values { if let name = member.serverAssignor { votes[name, default: 0] += 1 } }
        var best = assignors[0]
        for name in assignors.dropFirst() where (votes[name] ?? 0) > (votes[best] ?? 0) { best = name }
        return best
    }

    static func subscribedMetadata(_ group: ConsumerGroup, topics: [String: AssignableTopic]) -> [String: Int32] {
        var metadata = [String: Int32]()
        for name in group.subscribedTopicNames { if let topic = topics[name] { metadata[name] = topic.partitionCount } }
        return metadata
    }

    static func partitionSet(_ partitions: [ConsumerGroupHeartbeatRequest.TopicPartitions]) -> TopicPartitionSet {
        var set = TopicPartitionSet()
        for topic in partitions where !topic.partitions.isEmpty { set[topic.topicID, default: []].formUnion(topic.partitions) }
        return set
    }

    static func assignment(_ set: TopicPartitionSet) -> ConsumerGroupHeartbeatResponse.Assignment {
        ConsumerGroupHeartbeatResponse.Assignment(topicPartitions: set.keys.sorted { ($0.high, $0.low) < ($1.high, $1.low) }.map {
            .init(topicID: $0, partitions: set[$0]!.sorted())
        })
    }

    static func failure(_ error: ErrorCode, _ message: String?) -> ConsumerGroupHeartbeatResponse {
        ConsumerGroupHeartbeatResponse(errorCode: error.rawValue, errorMessage: message, memberEpoch: -1)
    }
}
