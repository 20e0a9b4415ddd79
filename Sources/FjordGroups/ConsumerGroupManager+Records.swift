import KafkaProtocol
import NIOCore

/// The ConsumerGroup* records of `__consumer_offsets` (Kafka's schemas; the key's int16 version says the kind):
///
/// | key version | key | value | says |
/// | --- | --- | --- | --- |
/// | 3 | ConsumerGroupMetadataKey | ConsumerGroupMetadataValue | the group epoch |
/// | 4 | ConsumerGroupPartitionMetadataKey | ConsumerGroupPartitionMetadataValue | the subscribed topics' ids and partition counts |
/// | 5 | ConsumerGroupMemberMetadataKey | ConsumerGroupMemberMetadataValue | a member's subscription, instance id, client |
/// | 6 | ConsumerGroupTargetAssignmentMetadataKey | ConsumerGroupTargetAssignmentMetadataValue | the assignment epoch |
/// | 7 | ConsumerGroupTargetAssignmentMemberKey | ConsumerGroupTargetAssignmentMemberValue | a member's target assignment |
/// | 8 | ConsumerGroupCurrentMemberAssignmentKey | ConsumerGroupCurrentMemberAssignmentValue | a member's epoch, state, partitions |
///
/// Values are written at version 0; a null value is a tombstone. `records(from:to:)` writes only what changed, in
/// Kafka's order (members before the group when adding, the reverse when removing), and `replay` applies one
/// record, so replaying a partition from its start rebuilds every group except deadlines, which restart from
/// the time of loading.
extension ConsumerGroupManager {
    static let groupMetadataKeyVersion: Int16 = 3
    static let partitionMetadataKeyVersion: Int16 = 4
    static let memberMetadataKeyVersion: Int16 = 5
    static let targetMetadataKeyVersion: Int16 = 6
    static let targetMemberKeyVersion: Int16 = 7
    static let currentAssignmentKeyVersion: Int16 = 8
    static let valueVersion: Int16 = 0

    /// The key versions of consumer-group records.
    static let keyVersions: ClosedRange<Int16> = 3...8

    // MARK: Writing

    /// The records that turn `old` (nil: no group) into `new` (nil: the group is deleted).
    static func records(from old: ConsumerGroup?, to new: ConsumerGroup?, groupID: String) -> [GroupRecord] {
        var records = [GroupRecord]()
        func add<K: KafkaMessage, V: KafkaMessage>(_ key: K, _ keyVersion: Int16, _ value: V?) {
            records.append(
                GroupRecord(
                    groupID: groupID, key: GroupManager.encode(key, version: keyVersion),
                    value: value.map { GroupManager.encode($0, version: valueVersion) }
                ))
        }
        let oldMembers = old?.members ?? [:]
        let newMembers = new?.members ?? [:]
        // Members removed: their records go first.
        for memberID in oldMembers.keys.sorted() where newMembers[memberID] == nil {
            add(
                ConsumerGroupCurrentMemberAssignmentKey(groupID: groupID, memberID: memberID),
                currentAssignmentKeyVersion, nil as ConsumerGroupCurrentMemberAssignmentValue?)
            add(
                ConsumerGroupTargetAssignmentMemberKey(groupID: groupID, memberID: memberID), targetMemberKeyVersion,
                nil as ConsumerGroupTargetAssignmentMemberValue?)
            add(
                ConsumerGroupMemberMetadataKey(groupID: groupID, memberID: memberID), memberMetadataKeyVersion,
                nil as ConsumerGroupMemberMetadataValue?)
        }
        guard let new else {
            add(
                ConsumerGroupTargetAssignmentMetadataKey(groupID: groupID), targetMetadataKeyVersion,
                nil as ConsumerGroupTargetAssignmentMetadataValue?)
            add(
                ConsumerGroupPartitionMetadataKey(groupID: groupID), partitionMetadataKeyVersion,
                nil as ConsumerGroupPartitionMetadataValue?)
            add(ConsumerGroupMetadataKey(groupID: groupID), groupMetadataKeyVersion, nil as ConsumerGroupMetadataValue?)
            return records
        }
        for memberID in newMembers.keys.sorted() {
            let member = newMembers[memberID]!
            if oldMembers[memberID].map({ !sameMetadata($0, member) }) ?? true {
                add(
                    ConsumerGroupMemberMetadataKey(groupID: groupID, memberID: memberID), memberMetadataKeyVersion,
                    memberMetadataValue(member))
            }
        }
        if old?.groupEpoch != new.groupEpoch {
            add(
                ConsumerGroupMetadataKey(groupID: groupID), groupMetadataKeyVersion,
                ConsumerGroupMetadataValue(epoch: new.groupEpoch))
        }
        if old?.subscribedTopics != new.subscribedTopics {
            let topics = new.subscribedTopics.sorted { $0.key < $1.key }.map { name, topic in
                ConsumerGroupPartitionMetadataValue.TopicMetadata(
                    topicID: topic.topicID, topicName: name, numPartitions: topic.partitionCount)
            }
            add(
                ConsumerGroupPartitionMetadataKey(groupID: groupID), partitionMetadataKeyVersion,
                ConsumerGroupPartitionMetadataValue(topics: topics))
        }
        for memberID in new.targetAssignment.keys.sorted()
        where old?.targetAssignment[memberID] != new.targetAssignment[memberID] {
            let target = new.targetAssignment[memberID]!
            add(
                ConsumerGroupTargetAssignmentMemberKey(groupID: groupID, memberID: memberID), targetMemberKeyVersion,
                ConsumerGroupTargetAssignmentMemberValue(
                    topicPartitions: sortedTopics(target).map { .init(topicID: $0.0, partitions: $0.1) })
            )
        }
        for memberID in (old?.targetAssignment.keys.sorted() ?? [])
        where new.targetAssignment[memberID] == nil && newMembers[memberID] != nil {
            add(
                ConsumerGroupTargetAssignmentMemberKey(groupID: groupID, memberID: memberID), targetMemberKeyVersion,
                nil as ConsumerGroupTargetAssignmentMemberValue?)
        }
        if old?.assignmentEpoch != new.assignmentEpoch {
            add(
                ConsumerGroupTargetAssignmentMetadataKey(groupID: groupID), targetMetadataKeyVersion,
                ConsumerGroupTargetAssignmentMetadataValue(assignmentEpoch: new.assignmentEpoch))
        }
        for memberID in newMembers.keys.sorted() {
            let member = newMembers[memberID]!
            if oldMembers[memberID].map({ !sameCurrentAssignment($0, member) }) ?? true {
                add(
                    ConsumerGroupCurrentMemberAssignmentKey(groupID: groupID, memberID: memberID),
                    currentAssignmentKeyVersion,
                    ConsumerGroupCurrentMemberAssignmentValue(
                        memberEpoch: member.memberEpoch, previousMemberEpoch: member.previousMemberEpoch,
                        state: member.state.rawValue,
                        assignedPartitions: sortedTopics(member.assigned).map {
                            .init(topicID: $0.0, partitions: $0.1)
                        },
                        partitionsPendingRevocation: sortedTopics(member.pendingRevocation).map {
                            .init(topicID: $0.0, partitions: $0.1)
                        }
                    )
                )
            }
        }
        return records
    }

    static func memberMetadataValue(_ member: ConsumerGroupMember) -> ConsumerGroupMemberMetadataValue {
        ConsumerGroupMemberMetadataValue(
            instanceID: member.instanceID, rackID: member.rackID, clientID: member.clientID,
            clientHost: member.clientHost,
            subscribedTopicNames: member.subscribedTopicNames, subscribedTopicRegex: member.subscribedTopicRegex,
            rebalanceTimeoutMs: member.rebalanceTimeoutMs, serverAssignor: member.serverAssignor
        )
    }

    static func sameMetadata(_ a: ConsumerGroupMember, _ b: ConsumerGroupMember) -> Bool {
        a.instanceID == b.instanceID && a.rackID == b.rackID && a.clientID == b.clientID && a.clientHost == b.clientHost
            && a.subscribedTopicNames == b.subscribedTopicNames && a.subscribedTopicRegex == b.subscribedTopicRegex
            && a.rebalanceTimeoutMs == b.rebalanceTimeoutMs && a.serverAssignor == b.serverAssignor
    }

    static func sameCurrentAssignment(_ a: ConsumerGroupMember, _ b: ConsumerGroupMember) -> Bool {
        a.memberEpoch == b.memberEpoch && a.previousMemberEpoch == b.previousMemberEpoch && a.state == b.state
            && a.assigned == b.assigned && a.pendingRevocation == b.pendingRevocation
    }

    static func sortedTopics(_ set: TopicPartitionSet) -> [(KafkaUUID, [Int32])] {
        set.keys.sorted { ($0.high, $0.low) < ($1.high, $1.low) }.map { ($0, set[$0]!.sorted()) }
    }

    // MARK: Replaying

    /// Applies one consumer-group record whose key version (3...8) was already read from `key`. `now` restarts
    /// the session (and revocation) clocks of restored members. Returns the record's group id.
    @discardableResult
    public mutating func replay(keyVersion: Int16, key: inout ByteBuffer, value: ByteBuffer?, now: Int64)
        throws(DecodeError) -> String?
    {
        func readValue<V: KafkaMessage>(_ type: V.Type) throws(DecodeError) -> V? {
            guard var buffer = value else { return nil }
            guard let version = buffer.readInteger(as: Int16.self) else {
                throw DecodeError(.truncated, "consumer group value version")
            }
            return try V(from: &buffer, version: version)
        }
        switch keyVersion {
        case Self.groupMetadataKeyVersion:
            let decoded = try ConsumerGroupMetadataKey(from: &key, version: keyVersion)
            guard let stored = try readValue(ConsumerGroupMetadataValue.self) else {
                groups[decoded.groupID] = nil
                return decoded.groupID
            }
            groups[decoded.groupID, default: ConsumerGroup(groupID: decoded.groupID)].groupEpoch = stored.epoch
            return decoded.groupID
        case Self.partitionMetadataKeyVersion:
            let decoded = try ConsumerGroupPartitionMetadataKey(from: &key, version: keyVersion)
            let stored = try readValue(ConsumerGroupPartitionMetadataValue.self)
            guard groups[decoded.groupID] != nil || stored != nil else { return decoded.groupID }
            var topics = [String: AssignableTopic]()
            for topic in stored?.topics ?? [] {
                topics[topic.topicName] = AssignableTopic(topicID: topic.topicID, partitionCount: topic.numPartitions)
            }
            groups[decoded.groupID, default: ConsumerGroup(groupID: decoded.groupID)].subscribedTopics = topics
            return decoded.groupID
        case Self.memberMetadataKeyVersion:
            let decoded = try ConsumerGroupMemberMetadataKey(from: &key, version: keyVersion)
            guard let stored = try readValue(ConsumerGroupMemberMetadataValue.self) else {
                groups[decoded.groupID]?.members[decoded.memberID] = nil
                groups[decoded.groupID]?.targetAssignment[decoded.memberID] = nil
                return decoded.groupID
            }
            var group = groups[decoded.groupID] ?? ConsumerGroup(groupID: decoded.groupID)
            var member =
                group.members[decoded.memberID]
                ?? ConsumerGroupMember(
                    memberID: decoded.memberID, memberEpoch: 0, previousMemberEpoch: -1, state: .stable,
                    rebalanceTimeoutMs: stored.rebalanceTimeoutMs, subscribedTopicNames: [],
                    heartbeatDeadline: now + Int64(configuration.sessionTimeoutMs)
                )
            member.instanceID = stored.instanceID
            member.rackID = stored.rackID
            member.clientID = stored.clientID
            member.clientHost = stored.clientHost
            member.subscribedTopicNames = stored.subscribedTopicNames
            member.subscribedTopicRegex = stored.subscribedTopicRegex
            member.rebalanceTimeoutMs = stored.rebalanceTimeoutMs
            member.serverAssignor = stored.serverAssignor
            group.members[decoded.memberID] = member
            groups[decoded.groupID] = group
            return decoded.groupID
        case Self.targetMetadataKeyVersion:
            let decoded = try ConsumerGroupTargetAssignmentMetadataKey(from: &key, version: keyVersion)
            guard let stored = try readValue(ConsumerGroupTargetAssignmentMetadataValue.self) else {
                return decoded.groupID
            }
            groups[decoded.groupID, default: ConsumerGroup(groupID: decoded.groupID)].assignmentEpoch =
                stored.assignmentEpoch
            return decoded.groupID
        case Self.targetMemberKeyVersion:
            let decoded = try ConsumerGroupTargetAssignmentMemberKey(from: &key, version: keyVersion)
            guard let stored = try readValue(ConsumerGroupTargetAssignmentMemberValue.self) else {
                groups[decoded.groupID]?.targetAssignment[decoded.memberID] = nil
                return decoded.groupID
            }
            var target = TopicPartitionSet()
            for topic in stored.topicPartitions where !topic.partitions.isEmpty {
                target[topic.topicID, default: []].formUnion(topic.partitions)
            }
            groups[decoded.groupID, default: ConsumerGroup(groupID: decoded.groupID)].targetAssignment[
                decoded.memberID] = target
            return decoded.groupID
        case Self.currentAssignmentKeyVersion:
            let decoded = try ConsumerGroupCurrentMemberAssignmentKey(from: &key, version: keyVersion)
            guard let stored = try readValue(ConsumerGroupCurrentMemberAssignmentValue.self) else {
                return decoded.groupID
            }
            guard var member = groups[decoded.groupID]?.members[decoded.memberID] else { return decoded.groupID }
            member.memberEpoch = stored.memberEpoch
            member.previousMemberEpoch = stored.previousMemberEpoch
            member.state = ConsumerMemberState(rawValue: stored.state) ?? .stable
            member.assigned = Self.partitionSet(stored.assignedPartitions.map { ($0.topicID, $0.partitions) })
            member.pendingRevocation = Self.partitionSet(
                stored.partitionsPendingRevocation.map { ($0.topicID, $0.partitions) })
            member.heartbeatDeadline = now + Int64(configuration.sessionTimeoutMs)
            member.revocationDeadline =
                member.state == .unrevokedPartitions ? now + Int64(member.rebalanceTimeoutMs) : nil
            groups[decoded.groupID]?.members[decoded.memberID] = member
            return decoded.groupID
        default:
            return nil
        }
    }

    static func partitionSet(_ topics: [(KafkaUUID, [Int32])]) -> TopicPartitionSet {
        var set = TopicPartitionSet()
        for (topic, partitions) in topics where !partitions.isEmpty { set[topic, default: []].formUnion(partitions) }
        return set
    }

    /// Removes a group (DeleteGroups, expiry) once its tombstones are appended.
    public mutating func remove(_ groupID: String) {
        groups[groupID] = nil
    }
}
