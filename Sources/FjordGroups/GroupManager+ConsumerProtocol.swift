import KafkaProtocol
import NIOCore

/// The KIP-848 consumer protocol inside the coordinator: a group id is either a classic group or a consumer
/// group. An empty classic group (offsets only) becomes a consumer group on the first ConsumerGroupHeartbeat; a
/// classic group with members refuses it (GROUP_ID_NOT_FOUND: "not a consumer group"), as Kafka does without
/// online migration. Committed offsets are shared by both kinds.
extension GroupManager {
    /// ConsumerGroupHeartbeat, planned: nothing changes until the driver appended the change's records and called
    /// `applyConsumerChange`.
    public func planConsumerHeartbeat(
        _ request: ConsumerGroupHeartbeatRequest, context: ConsumerGroupManager.HeartbeatContext
    ) -> ConsumerGroupChange {
        if request.groupID.utf8.count > configuration.groupIDMaxLength {
            return .failure(.invalidGroupID, "The group id is too long.")
        }
        if let classic = groups[request.groupID], !classic.isEmpty {
            return .failure(.groupIDNotFoundError, "Group \(request.groupID) is not a consumer group.")
        }
        var change = consumerGroups.planHeartbeat(request, context: context)
        if change.response.errorCode == ErrorCode.none.rawValue, groups[request.groupID] != nil {
            change.records.insert(Self.groupTombstone(request.groupID), at: 0)
        }
        return change
    }

    /// Session and revocation timeouts, and subscribed topics that changed.
    public func planConsumerTick(now: Int64, topics: [String: AssignableTopic]) -> ConsumerGroupChange {
        consumerGroups.planTick(now: now, topics: topics)
    }

    /// Stores a planned change once its records are appended.
    public mutating func applyConsumerChange(_ change: ConsumerGroupChange) {
        consumerGroups.apply(change)
        for groupID in change.groups.keys where groups[groupID]?.isEmpty == true { groups[groupID] = nil }
    }

    /// The earliest consumer-group deadline, for the driver's tick.
    public var nextConsumerDeadline: Int64? { consumerGroups.nextDeadline }

    /// OffsetFetch v9+ from a member: a consumer group checks that the member exists (UNKNOWN_MEMBER_ID) and that
    /// its epoch is current (STALE_MEMBER_EPOCH). Admin fetches (no member id) are always allowed.
    public func validateOffsetFetch(groupID: String, memberID: String?, memberEpoch: Int32) -> ErrorCode {
        guard let memberID, !memberID.isEmpty, let group = consumerGroups.groups[groupID] else { return .none }
        guard let member = group.members[memberID] else { return .unknownMemberID }
        return member.memberEpoch == memberEpoch ? .none : .staleMemberEpoch
    }

    /// OffsetCommit for a consumer group: simple commits (epoch < 0) only while it has no members; otherwise the
    /// member must exist and send its current epoch (FENCED_MEMBER_EPOCH if newer, STALE_MEMBER_EPOCH if older).
    func consumerCommitError(_ group: ConsumerGroup, memberID: String, memberEpoch: Int32) -> ErrorCode {
        if memberEpoch < 0, group.members.isEmpty { return .none }
        guard let member = group.members[memberID] else { return .unknownMemberID }
        if memberEpoch > member.memberEpoch { return .fencedMemberEpoch }
        if memberEpoch < member.memberEpoch { return .staleMemberEpoch }
        return .none
    }

    /// ConsumerGroupDescribe for one group; GROUP_ID_NOT_FOUND if there is no consumer group by that id.
    public func describeConsumerGroup(_ groupID: String, topicNames: [KafkaUUID: String])
        -> ConsumerGroupDescribeResponse.DescribedGroup
    {
        guard let group = consumerGroups.groups[groupID] else {
            let message =
                groups[groupID] == nil ? "Group \(groupID) not found." : "Group \(groupID) is not a consumer group."
            return .init(
                errorCode: ErrorCode.groupIDNotFoundError.rawValue, errorMessage: message, groupID: groupID,
                groupState: "Dead")
        }
        func assignment(_ set: TopicPartitionSet) -> ConsumerGroupDescribeResponse.Assignment {
            .init(
                topicPartitions: ConsumerGroupManager.sortedTopics(set).map { topicID, partitions in
                    .init(topicID: topicID, topicName: topicNames[topicID] ?? "", partitions: partitions)
                })
        }
        return .init(
            groupID: groupID, groupState: group.state, groupEpoch: group.groupEpoch,
            assignmentEpoch: group.assignmentEpoch,
            assignorName: ConsumerGroupManager.preferredAssignor(group),
            members: group.members.values.sorted { $0.memberID < $1.memberID }.map { member in
                .init(
                    memberID: member.memberID, instanceID: member.instanceID, rackID: member.rackID,
                    memberEpoch: member.memberEpoch,
                    clientID: member.clientID, clientHost: member.clientHost,
                    subscribedTopicNames: member.subscribedTopicNames,
                    subscribedTopicRegex: member.subscribedTopicRegex, assignment: assignment(member.assigned),
                    targetAssignment: assignment(group.targetAssignment[member.memberID] ?? [:])
                )
            },
            authorizedOperations: Int32.min
        )
    }
}
