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
/// Nothing changes in place: `planHeartbeat` and `planTick` return a `ConsumerGroupChange` — the group as it will
/// be and the ConsumerGroup* records that say so (`ConsumerGroupManager+Records.swift`). The driver appends the
/// records to `__consumer_offsets` and only then `apply`s the change; at start-up `replay` rebuilds the same
/// state from those records.
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
        /// Length of a subscription's regular expression (bounds matching work; Kafka has none).
        public var regexMaxLength: Int = 1024

        public init() {}
    }

    /// What the heartbeat needs besides the request.
    public struct HeartbeatContext: Sendable {
        /// The id a joining member gets when it sent none (version 0; from version 1 the client chooses it).
        public var newMemberID: String
        /// The topics that exist, by name.
        public var topics: [String: AssignableTopic]
        public var now: Int64
        public var clientID: String
        public var clientHost: String

        public init(
            newMemberID: String, topics: [String: AssignableTopic], now: Int64, clientID: String = "",
            clientHost: String = ""
        ) {
            self.newMemberID = newMemberID
            self.topics = topics
            self.now = now
            self.clientID = clientID
            self.clientHost = clientHost
        }
    }

    /// The epoch of a member that leaves for good (-1) and of a static member that leaves for now (-2): it keeps
    /// its assignment until its session times out or a member with the same instance id takes its place.
    static let leaveEpoch: Int32 = -1
    static let staticLeaveEpoch: Int32 = -2

    public var configuration: Configuration
    public internal(set) var groups: [String: ConsumerGroup] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: Applying changes

    /// Stores what a plan decided (after its records were appended).
    public mutating func apply(_ change: ConsumerGroupChange) {
        for (groupID, group) in change.groups { groups[groupID] = group }
        for groupID in change.deletedGroups { groups[groupID] = nil }
    }

    /// Plans and applies at once (tests, and callers with nothing to append first).
    public mutating func heartbeat(_ request: ConsumerGroupHeartbeatRequest, context: HeartbeatContext)
        -> ConsumerGroupHeartbeatResponse
    {
        let change = planHeartbeat(request, context: context)
        apply(change)
        return change.response
    }

    /// Plans and applies a tick at once.
    public mutating func tick(now: Int64, topics: [String: AssignableTopic]) {
        apply(planTick(now: now, topics: topics))
    }

    // MARK: Heartbeat

    public func planHeartbeat(_ request: ConsumerGroupHeartbeatRequest, context: HeartbeatContext)
        -> ConsumerGroupChange
    {
        if let error = validate(request) { return .failure(error.0, error.1) }
        let existing = groups[request.groupID]
        var group = existing ?? ConsumerGroup(groupID: request.groupID)
        if request.memberEpoch < 0 {
            return leave(request, group: group, existing: existing)
        }
        let joining = request.memberEpoch == 0
        let memberID = joining && request.memberID.isEmpty ? context.newMemberID : request.memberID
        var member: ConsumerGroupMember
        var replacedStaticMember = false
        if joining, let instanceID = request.instanceID,
            let holder = group.members.values.first(where: { $0.instanceID == instanceID && $0.memberID != memberID })
        {
            // A static member restarting: it takes the place, epoch and assignment of the one that left (-2). While
            // that one is still active the instance id is not released.
            guard holder.memberEpoch == Self.staticLeaveEpoch else {
                return .failure(
                    .unreleasedInstanceID,
                    "Static member \(instanceID) with member id \(holder.memberID) has not left the group yet.")
            }
            group.members[holder.memberID] = nil
            member = holder
            member.memberID = memberID
            member.memberEpoch = holder.previousMemberEpoch
            member.previousMemberEpoch = holder.previousMemberEpoch
            if let target = group.targetAssignment.removeValue(forKey: holder.memberID) {
                group.targetAssignment[memberID] = target
            }
            replacedStaticMember = true
        } else if var known = group.members[memberID] {
            if !joining, let error = fencing(known, request: request) { return .failure(error, nil) }
            if joining {
                // A member rejoining with epoch 0 owns nothing any more: what it had is free for others.
                known.assigned = [:]
                known.pendingRevocation = [:]
                known.revocationDeadline = nil
                known.state = .stable
                known.previousMemberEpoch = known.memberEpoch
                known.memberEpoch = 0
            }
            member = known
        } else {
            guard joining else { return .failure(.unknownMemberID, nil) }
            guard group.members.count < configuration.maxSize else { return .failure(.groupMaxSizeReached, nil) }
            member = ConsumerGroupMember(
                memberID: memberID, memberEpoch: 0, previousMemberEpoch: -1, state: .stable,
                rebalanceTimeoutMs: request.rebalanceTimeoutMs, subscribedTopicNames: [], heartbeatDeadline: 0
            )
        }
        let previous = member
        member.heartbeatDeadline = context.now + Int64(configuration.sessionTimeoutMs)
        if joining {
            member.clientID = context.clientID
            member.clientHost = context.clientHost
            member.instanceID = request.instanceID
        }
        if request.rebalanceTimeoutMs > 0 { member.rebalanceTimeoutMs = request.rebalanceTimeoutMs }
        if let rack = request.rackID { member.rackID = rack }
        var bump = existing?.members[memberID] == nil && !replacedStaticMember
        if let assignor = request.serverAssignor, assignor != member.serverAssignor {
            member.serverAssignor = assignor
            bump = true
        }
        if let names = request.subscribedTopicNames, Set(names) != Set(member.subscribedTopicNames) {
            member.subscribedTopicNames = names.sorted()
            bump = true
        }
        if let regex = request.subscribedTopicRegex, regex != (member.subscribedTopicRegex ?? "") {
            member.subscribedTopicRegex = regex.isEmpty ? nil : regex
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
        let changed =
            member.assigned != previous.assigned || joining || member.memberEpoch != previous.memberEpoch
            || (owned.map { $0 != member.assigned } ?? false)
        let response = ConsumerGroupHeartbeatResponse(
            memberID: memberID, memberEpoch: member.memberEpoch, heartbeatIntervalMs: configuration.heartbeatIntervalMs,
            assignment: changed ? Self.assignment(member.assigned) : nil
        )
        return ConsumerGroupChange(
            response: response, groups: [request.groupID: group],
            records: Self.records(from: existing, to: group, groupID: request.groupID)
        )
    }

    /// Members whose session ended, or that did not release their partitions within the rebalance timeout, are
    /// removed; each removal bumps the group epoch and the target assignment is recomputed.
    public func planTick(now: Int64, topics: [String: AssignableTopic]) -> ConsumerGroupChange {
        var change = ConsumerGroupChange(response: ConsumerGroupHeartbeatResponse())
        for groupID in groups.keys.sorted() {
            guard let existing = groups[groupID] else { continue }
            var group = existing
            let expired = group.members.values.filter { member in
                member.heartbeatDeadline <= now || (member.revocationDeadline.map { $0 <= now } ?? false)
            }
            let metadata = Self.subscribedMetadata(group, topics: topics)
            guard !expired.isEmpty || (!group.members.isEmpty && metadata != group.subscribedTopics) else { continue }
            for member in expired {
                group.members[member.memberID] = nil
                group.targetAssignment[member.memberID] = nil
            }
            // Expired members, or subscribed topics created, deleted or grown: a new epoch and assignment.
            group.groupEpoch += 1
            group.subscribedTopics = Self.subscribedMetadata(group, topics: topics)
            computeTargetAssignment(&group, topics: topics)
            change.groups[groupID] = group
            change.records += Self.records(from: existing, to: group, groupID: groupID)
        }
        return change
    }

    /// The earliest member deadline, or nil: when `planTick` may next have something to do.
    public var nextDeadline: Int64? {
        groups.values.flatMap(\.members.values).map { member in
            min(member.heartbeatDeadline, member.revocationDeadline ?? .max)
        }.min()
    }

    // MARK: Steps

    private func validate(_ request: ConsumerGroupHeartbeatRequest) -> (ErrorCode, String)? {
        if request.groupID.isEmpty { return (.invalidRequest, "GroupId can't be empty.") }
        if let instanceID = request.instanceID, instanceID.isEmpty {
            return (.invalidRequest, "InstanceId can't be empty.")
        }
        if let assignor = request.serverAssignor, !Self.assignors.contains(assignor) {
            return (
                .unsupportedAssignor,
                "ServerAssignor \(assignor) is not supported. Supported assignors: \(Self.assignors.joined(separator: ", "))."
            )
        }
        if (request.subscribedTopicNames?.count ?? 0) > configuration.subscribedTopicsMax {
            return (.invalidRequest, "Too many subscribed topics.")
        }
        if let regex = request.subscribedTopicRegex, !regex.isEmpty {
            guard regex.utf8.count <= configuration.regexMaxLength, (try? Regex(regex)) != nil else {
                return (
                    .invalidRegularExpression,
                    "SubscribedTopicRegex \(regex.prefix(64)) is not a valid regular expression."
                )
            }
        }
        switch request.memberEpoch {
        case 0:
            if request.rebalanceTimeoutMs == -1 {
                return (.invalidRequest, "RebalanceTimeoutMs must be provided in first request.")
            }
            if request.topicPartitions.map({ !$0.isEmpty }) ?? true {
                return (.invalidRequest, "TopicPartitions must be empty when (re-)joining.")
            }
            if request.subscribedTopicNames == nil && request.subscribedTopicRegex == nil {
                return (.invalidRequest, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
            }
        case Self.leaveEpoch, Self.staticLeaveEpoch:
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
            Self.partitionSet(owned).subtracting(member.assigned).isEmpty
        {
            return nil
        }
        return .fencedMemberEpoch
    }

    /// Epoch -1: the member leaves and its partitions are reassigned. Epoch -2 from a static member: it keeps its
    /// place and assignment until its session times out, so a restart within it causes no rebalance.
    private func leave(_ request: ConsumerGroupHeartbeatRequest, group: ConsumerGroup, existing: ConsumerGroup?)
        -> ConsumerGroupChange
    {
        var group = group
        guard var member = group.members[request.memberID] else { return .failure(.unknownMemberID, nil) }
        if request.memberEpoch == Self.staticLeaveEpoch, member.instanceID != nil {
            if member.memberEpoch != Self.staticLeaveEpoch {
                member.previousMemberEpoch = member.memberEpoch
                member.memberEpoch = Self.staticLeaveEpoch
            }
            group.members[request.memberID] = member
        } else {
            group.members[request.memberID] = nil
            group.targetAssignment[request.memberID] = nil
            group.groupEpoch += 1
        }
        let response = ConsumerGroupHeartbeatResponse(
            memberID: request.memberID, memberEpoch: request.memberEpoch, heartbeatIntervalMs: 0)
        return ConsumerGroupChange(
            response: response, groups: [request.groupID: group],
            records: Self.records(from: existing, to: group, groupID: request.groupID)
        )
    }

    private func computeTargetAssignment(_ group: inout ConsumerGroup, topics: [String: AssignableTopic]) {
        let subscriptions = group.members.mapValues { Self.resolvedTopics($0, topics: topics) }
        switch Self.preferredAssignor(group) {
        case "range": group.targetAssignment = RangeAssignor.assign(subscriptions: subscriptions, topics: topics)
        default:
            group.targetAssignment = UniformAssignor.assign(
                subscriptions: subscriptions, topics: topics, current: group.targetAssignment)
        }
        group.assignmentEpoch = group.groupEpoch
    }

    /// Moves one member towards its target (the edges are listed on `ConsumerMemberState`).
    private func reconcile(_ group: inout ConsumerGroup, memberID: String, owned: TopicPartitionSet?, now: Int64) {
        Self.reconcile(&group, memberID: memberID, owned: owned, now: now)
    }

    private static func reconcile(_ group: inout ConsumerGroup, memberID: String, owned: TopicPartitionSet?, now: Int64)
    {
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

    /// Topics a regular expression never matches (Kafka excludes its internal topics).
    static let internalTopics: Set<String> = ["__consumer_offsets", "__transaction_state", "__share_group_state"]

    /// The assignor most members asked for (ties to the earlier in `assignors`), else the default (as Kafka does).
    static func preferredAssignor(_ group: ConsumerGroup) -> String {
        var votes = [String: Int]()
        for member in group.members.values { if let name = member.serverAssignor { votes[name, default: 0] += 1 } }
        var best = assignors[0]
        for name in assignors.dropFirst() where (votes[name] ?? 0) > (votes[best] ?? 0) { best = name }
        return best
    }

    /// The existing topics a member reads: those it names, and those whose whole name its regular expression
    /// matches.
    static func resolvedTopics(_ member: ConsumerGroupMember, topics: [String: AssignableTopic]) -> [String] {
        var names = Set(member.subscribedTopicNames.filter { topics[$0] != nil })
        if let pattern = member.subscribedTopicRegex, let regex = try? Regex(pattern) {
            for name in topics.keys where !internalTopics.contains(name) && !names.contains(name) {
                if (try? regex.wholeMatch(in: name)) != nil { names.insert(name) }
            }
        }
        return names.sorted()
    }

    static func subscribedMetadata(_ group: ConsumerGroup, topics: [String: AssignableTopic]) -> [String:
        AssignableTopic]
    {
        var metadata = [String: AssignableTopic]()
        for member in group.members.values {
            for name in resolvedTopics(member, topics: topics) { metadata[name] = topics[name] }
        }
        return metadata
    }

    static func partitionSet(_ partitions: [ConsumerGroupHeartbeatRequest.TopicPartitions]) -> TopicPartitionSet {
        var set = TopicPartitionSet()
        for topic in partitions where !topic.partitions.isEmpty {
            set[topic.topicID, default: []].formUnion(topic.partitions)
        }
        return set
    }

    static func assignment(_ set: TopicPartitionSet) -> ConsumerGroupHeartbeatResponse.Assignment {
        ConsumerGroupHeartbeatResponse.Assignment(
            topicPartitions: set.keys.sorted { ($0.high, $0.low) < ($1.high, $1.low) }.map {
                .init(topicID: $0, partitions: set[$0]!.sorted())
            })
    }
}

extension ErrorCode {
    /// INVALID_REGULAR_EXPRESSION: a subscription's regular expression does not compile.
    public static let invalidRegularExpression = ErrorCode(rawValue: 128)
}
