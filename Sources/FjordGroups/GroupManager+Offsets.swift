import KafkaProtocol
import NIOCore

extension GroupManager {
    /// One partition of an OffsetCommit.
    public struct OffsetCommitEntry: Sendable {
        public var partition: TopicPartition
        public var offset: Int64
        public var leaderEpoch: LeaderEpoch
        public var metadata: String?

        public init(partition: TopicPartition, offset: Int64, leaderEpoch: LeaderEpoch, metadata: String?) {
            self.partition = partition
            self.offset = offset
            self.leaderEpoch = leaderEpoch
            self.metadata = metadata
        }
    }

    /// A command's answer and the records that carry it; nothing changes until the records are appended and
    /// replayed (STYLE.md §8).
    public struct CommandResult<Answer: Sendable>: Sendable {
        public var records: [GroupRecord]
        public var answer: Answer
    }

    /// OffsetCommit: checks the member and generation (a negative generation with an empty or unknown group is a
    /// "simple" commit of a consumer that assigns partitions itself), then one record per accepted partition.
    /// `isKnownPartition` says whether the topic partition exists (UNKNOWN_TOPIC_OR_PARTITION otherwise).
    ///
    /// `transactional` is TxnOffsetCommit: a commit without a member (member id "" and generation -1, as
    /// clients before KIP-447 send) is not checked against the group at all, as Kafka does; the records are
    /// the same, but the driver appends them in the producer's transaction and replays them only on COMMIT.
    public mutating func commitOffsets(
        groupID: String, generationID: Int32, memberID: String, instanceID: String?, entries: [OffsetCommitEntry],
        now: Int64,
        transactional: Bool = false, isKnownPartition: (TopicPartition) -> Bool
    ) -> CommandResult<[ErrorCode]> {
        let unchecked = transactional && memberID.isEmpty && generationID < 0
        let groupError =
            unchecked
            ? (groupID.isEmpty || groupID.utf8.count > configuration.groupIDMaxLength ? .invalidGroupID : .none)
            : commitError(
                groupID: groupID, generationID: generationID, memberID: memberID, instanceID: instanceID, now: now)
        var records = [GroupRecord]()
        var errors = [ErrorCode]()
        for entry in entries {
            if groupError != .none {
                errors.append(groupError)
            } else if let metadata = entry.metadata, metadata.utf8.count > configuration.offsetMetadataMaxBytes {
                errors.append(.offsetMetadataTooLarge)
            } else if !isKnownPartition(entry.partition) {
                errors.append(.unknownTopicOrPartition)
            } else {
                errors.append(.none)
                records.append(
                    Self.offsetRecord(
                        group: groupID, entry.partition,
                        CommittedOffset(
                            offset: entry.offset, leaderEpoch: entry.leaderEpoch, metadata: entry.metadata ?? "",
                            commitTimestamp: now
                        )))
            }
        }
        return CommandResult(records: records, answer: errors)
    }

    private mutating func commitError(
        groupID: String, generationID: Int32, memberID: String, instanceID: String?, now: Int64
    ) -> ErrorCode {
        guard !groupID.isEmpty, groupID.utf8.count <= configuration.groupIDMaxLength else { return .invalidGroupID }
        if let consumerGroup = consumerGroups.groups[groupID] {
            return consumerCommitError(consumerGroup, memberID: memberID, memberEpoch: generationID)
        }
        guard var group = groups[groupID] else { return generationID < 0 ? .none : .illegalGeneration }
        if let instanceID, let owner = group.staticMembers[instanceID], owner != memberID { return .fencedInstanceID }
        if generationID < 0, group.state == .empty { return .none }
        guard let member = group.members[memberID] else { return .unknownMemberID }
        guard generationID == group.generationID else { return .illegalGeneration }
        switch group.state {
        case .completingRebalance: return .rebalanceInProgress
        case .empty, .dead: return .unknownMemberID
        case .stable, .preparingRebalance:
            group.members[memberID]?.heartbeatDeadline = now + Int64(member.sessionTimeoutMs)
            groups[groupID] = group
            return .none
        }
    }

    /// OffsetFetch for one group: every committed partition when `partitions` is nil, else each one asked for
    /// (nil where nothing is committed).
    public func fetchOffsets(groupID: String, partitions: [TopicPartition]?) -> [(TopicPartition, CommittedOffset?)] {
        let committed = offsets[groupID] ?? [:]
        guard let partitions else { return committed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        return partitions.map { ($0, committed[$0]) }
    }

    /// OffsetDelete: removes committed offsets of topics the group is not subscribed to (GROUP_SUBSCRIBED_TO_TOPIC
    /// otherwise); GROUP_ID_NOT_FOUND for an unknown group.
    public func deleteOffsets(groupID: String, partitions: [TopicPartition]) -> CommandResult<(ErrorCode, [ErrorCode])>
    {
        let subscribed: Set<String>
        if let group = groups[groupID] {
            subscribed = subscribedTopics(group)
        } else if let group = consumerGroups.groups[groupID] {
            subscribed = group.members.isEmpty ? [] : Set(group.subscribedTopics.keys)
        } else {
            return CommandResult(records: [], answer: (.groupIDNotFoundError, partitions.map { _ in .none }))
        }
        var records = [GroupRecord]()
        var errors = [ErrorCode]()
        for partition in partitions {
            if subscribed.contains(partition.topic) {
                errors.append(.groupSubscribedToTopic)
            } else {
                errors.append(.none)
                if offsets[groupID]?[partition] != nil {
                    records.append(Self.offsetRecord(group: groupID, partition, nil))
                }
            }
        }
        return CommandResult(records: records, answer: (.none, errors))
    }

    /// The topics the members of a non-empty "consumer" group subscribe to (from their ConsumerProtocolSubscription).
    func subscribedTopics(_ group: ClassicGroup) -> Set<String> {
        guard !group.isEmpty, group.protocolType == "consumer" else { return [] }
        var topics = Set<String>()
        for member in group.members.values {
            var metadata = member.metadata(for: group.protocolName)
            guard let version = metadata.readInteger(as: Int16.self),
                let subscription = try? ConsumerProtocolSubscription(
                    from: &metadata, version: min(version, ConsumerProtocolSubscription.validVersions.upperBound))
            else { continue }
            topics.formUnion(subscription.topics)
        }
        return topics
    }

    /// Tombstones for the offsets of empty groups older than `offsets.retention.minutes`, and for groups left with
    /// neither members nor offsets.
    public func expireOffsets(now: Int64) -> [GroupRecord] {
        var records = [GroupRecord]()
        for (groupID, group) in groups.sorted(by: { $0.key < $1.key })
        where group.state == .empty && group.pendingMembers.isEmpty {
            let committed = offsets[groupID] ?? [:]
            let expired = committed.filter { _, value in
                let base = max(value.commitTimestamp, group.stateTimestamp)
                let limit = value.expireTimestamp > 0 ? value.expireTimestamp : base + configuration.offsetsRetentionMs
                return limit <= now
            }
            for key in expired.keys.sorted() { records.append(Self.offsetRecord(group: groupID, key, nil)) }
            let groupExpired =
                committed.isEmpty
                ? group.stateTimestamp + configuration.offsetsRetentionMs <= now : expired.count == committed.count
            if groupExpired {
                records.append(Self.groupTombstone(groupID))
            }
        }
        // Consumer groups without members: offsets expire after the retention from their commit; the group goes
        // with its last offset.
        for (groupID, group) in consumerGroups.groups.sorted(by: { $0.key < $1.key }) where group.members.isEmpty {
            let committed = offsets[groupID] ?? [:]
            let expired = committed.filter { _, value in
                let limit =
                    value.expireTimestamp > 0
                    ? value.expireTimestamp : value.commitTimestamp + configuration.offsetsRetentionMs
                return limit <= now
            }
            for key in expired.keys.sorted() { records.append(Self.offsetRecord(group: groupID, key, nil)) }
            if expired.count == committed.count {
                records += ConsumerGroupManager.records(from: group, to: nil, groupID: groupID)
            }
        }
        return records
    }
}
