import KafkaProtocol
import NIOCore

/// The `__consumer_offsets` record format, Kafka's: the key is an int16 schema version followed by the key
/// schema (0/1: `OffsetCommitKey`, 2: `GroupMetadataKey`, 3-8: the KIP-848 records of `ConsumerGroupManager+Records.swift`; others, such as share groups, are skipped), the value an
/// int16 version followed by `OffsetCommitValue` (written at v3) or `GroupMetadataValue` (v3); a null value
/// deletes the key (tombstone). The latest record of a key wins, so replaying a partition from its start
/// rebuilds the coordinator's state.
extension GroupManager {
    static let offsetKeyVersion: Int16 = 1
    static let offsetValueVersion: Int16 = 3
    static let groupKeyVersion: Int16 = 2
    static let groupValueVersion: Int16 = 3

    static func encode<M: KafkaMessage>(_ message: M, version: Int16) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        message.write(to: &buffer, version: version)
        return buffer
    }

    /// The group and partition of an OffsetCommit record key (nil for any other record).
    public static func offsetCommitKey(_ key: ByteBuffer) -> (groupID: String, partition: TopicPartition)? {
        var key = key
        guard let version = key.readInteger(as: Int16.self), version == 0 || version == 1,
            let decoded = try? OffsetCommitKey(from: &key, version: version)
        else { return nil }
        return (decoded.group, TopicPartition(decoded.topic, decoded.partition))
    }

    static func offsetRecord(group: String, _ key: TopicPartition, _ value: CommittedOffset?) -> GroupRecord {
        let encodedKey = encode(
            OffsetCommitKey(group: group, topic: key.topic, partition: key.partition), version: offsetKeyVersion)
        let encodedValue = value.map { value in
            encode(
                OffsetCommitValue(
                    offset: value.offset, leaderEpoch: value.leaderEpoch, metadata: value.metadata,
                    commitTimestamp: value.commitTimestamp, expireTimestamp: value.expireTimestamp
                ), version: offsetValueVersion)
        }
        return GroupRecord(groupID: group, key: encodedKey, value: encodedValue)
    }

    static func groupMetadataRecord(_ group: ClassicGroup) -> GroupRecord {
        let value = GroupMetadataValue(
            protocolType: group.protocolType ?? "", generation: group.generationID, protocol: group.protocolName,
            leader: group.leaderID, currentStateTimestamp: group.stateTimestamp,
            members: group.orderedMembers.map { member in
                GroupMetadataValue.MemberMetadata(
                    memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.clientID,
                    clientHost: member.clientHost, rebalanceTimeout: member.rebalanceTimeoutMs,
                    sessionTimeout: member.sessionTimeoutMs,
                    subscription: member.metadata(for: group.protocolName), assignment: member.assignment
                )
            }
        )
        return GroupRecord(
            groupID: group.groupID, key: encode(GroupMetadataKey(group: group.groupID), version: groupKeyVersion),
            value: encode(value, version: groupValueVersion)
        )
    }

    static func groupTombstone(_ groupID: String) -> GroupRecord {
        GroupRecord(
            groupID: groupID, key: encode(GroupMetadataKey(group: groupID), version: groupKeyVersion), value: nil)
    }

    /// Applies one stored record: at start-up for every record of the partitions, and at run time for the records
    /// of commands (commits, offset deletion, group deletion, expiry) once they are appended. Records of other
    /// kinds (KIP-848, share groups) are skipped. `now` restarts the session clocks of restored members.
    public mutating func replay(key: ByteBuffer, value: ByteBuffer?, now: Int64) throws(DecodeError) {
        var key = key
        guard let version = key.readInteger(as: Int16.self) else {
            throw DecodeError(.truncated, "__consumer_offsets key version")
        }
        switch version {
        case 0, 1:
            let decoded = try OffsetCommitKey(from: &key, version: version)
            let partition = TopicPartition(decoded.topic, decoded.partition)
            guard var value else {
                offsets[decoded.group]?[partition] = nil
                if offsets[decoded.group]?.isEmpty == true { offsets[decoded.group] = nil }
                return
            }
            guard let valueVersion = value.readInteger(as: Int16.self) else {
                throw DecodeError(.truncated, "offset value version")
            }
            let stored = try OffsetCommitValue(from: &value, version: valueVersion)
            offsets[decoded.group, default: [:]][partition] = CommittedOffset(
                offset: stored.offset, leaderEpoch: stored.leaderEpoch, metadata: stored.metadata,
                commitTimestamp: stored.commitTimestamp, expireTimestamp: stored.expireTimestamp
            )
            if groups[decoded.group] == nil, consumerGroups.groups[decoded.group] == nil {
                groups[decoded.group] = ClassicGroup(groupID: decoded.group)
            }
        case 2:
            let decoded = try GroupMetadataKey(from: &key, version: version)
            guard var value else {
                groups[decoded.group] = nil
                return
            }
            guard let valueVersion = value.readInteger(as: Int16.self) else {
                throw DecodeError(.truncated, "group value version")
            }
            let stored = try GroupMetadataValue(from: &value, version: valueVersion)
            groups[decoded.group] = Self.restoredGroup(decoded.group, stored, now: now)
        case ConsumerGroupManager.keyVersions:
            // A consumer group replaces the empty classic entry its offsets may have created.
            if let groupID = try consumerGroups.replay(keyVersion: version, key: &key, value: value, now: now),
                consumerGroups.groups[groupID] != nil, groups[groupID]?.isEmpty == true
            {
                groups[groupID] = nil
            }
        default:
            return
        }
    }

    /// A group as its last GroupMetadataValue left it: stable with its members (who must heartbeat within their
    /// session timeout from now), or empty.
    static func restoredGroup(_ groupID: String, _ stored: GroupMetadataValue, now: Int64) -> ClassicGroup {
        var group = ClassicGroup(groupID: groupID)
        group.generationID = stored.generation
        group.protocolType = stored.protocolType.isEmpty ? nil : stored.protocolType
        group.protocolName = stored.protocol
        group.stateTimestamp = stored.currentStateTimestamp
        for member in stored.members {
            group.add(
                GroupMember(
                    memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.clientID,
                    clientHost: member.clientHost, sessionTimeoutMs: member.sessionTimeout,
                    rebalanceTimeoutMs: member.rebalanceTimeout,
                    protocols: [(stored.protocol ?? "", member.subscription)], assignment: member.assignment,
                    heartbeatDeadline: now + Int64(member.sessionTimeout)
                ))
        }
        group.leaderID = stored.leader.flatMap { group.members[$0] == nil ? nil : $0 } ?? group.memberOrder.first
        group.restore(state: group.isEmpty ? .empty : .stable)
        return group
    }
}
