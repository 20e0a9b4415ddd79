import KafkaProtocol
import NIOCore

extension GroupManager {
    /// A group as ListGroups reports it.
    public struct GroupListing: Sendable, Equatable {
        public var groupID: String
        public var protocolType: String
        /// Kafka's state name: a classic `GroupState`, or a consumer group's Empty/Assigning/Reconciling/Stable.
        public var state: String
        /// "classic" or "consumer" (KIP-848).
        public var groupType: String
    }

    /// ListGroups with Kafka's filters: states compared case-insensitively, types "classic"/"consumer".
    public func listGroups(statesFilter: [String], typesFilter: [String]) -> [GroupListing] {
        let states = Set(statesFilter.map { $0.lowercased() })
        let types = Set(typesFilter.map { $0.lowercased() })
        var listings = groups.values.map { group in
            GroupListing(
                groupID: group.groupID, protocolType: group.protocolType ?? "", state: group.state.rawValue,
                groupType: "classic")
        }
        listings += consumerGroups.groups.values.map { group in
            GroupListing(groupID: group.groupID, protocolType: "consumer", state: group.state, groupType: "consumer")
        }
        return listings.filter { listing in
            (statesFilter.isEmpty || states.contains(listing.state.lowercased()))
                && (typesFilter.isEmpty || types.contains(listing.groupType))
        }.sorted { $0.groupID < $1.groupID }
    }

    /// DescribeGroups for one group: members with their metadata and assignment when stable (Kafka's summary);
    /// an unknown group is reported Dead with no error (GROUP_ID_NOT_FOUND from v6 on).
    public func describe(groupID: String) -> DescribeGroupsResponse.DescribedGroup {
        if consumerGroups.groups[groupID] != nil {
            // Kafka: "Group ... is not a classic group."; describe it with ConsumerGroupDescribe.
            return .init(
                errorCode: ErrorCode.groupIDNotFoundError.rawValue, groupID: groupID,
                groupState: GroupState.dead.rawValue,
                protocolType: "", protocolData: ""
            )
        }
        guard let group = groups[groupID] else {
            return .init(
                errorCode: ErrorCode.none.rawValue, groupID: groupID, groupState: GroupState.dead.rawValue,
                protocolType: "", protocolData: "")
        }
        let stable = group.state == .stable
        return .init(
            errorCode: ErrorCode.none.rawValue, groupID: groupID, groupState: group.state.rawValue,
            protocolType: group.protocolType ?? "", protocolData: stable ? group.protocolName ?? "" : "",
            members: group.orderedMembers.map { member in
                .init(
                    memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.clientID,
                    clientHost: member.clientHost,
                    memberMetadata: stable ? member.metadata(for: group.protocolName) : ByteBuffer(),
                    memberAssignment: stable ? member.assignment : ByteBuffer()
                )
            }
        )
    }

    /// DeleteGroups: only empty groups (NON_EMPTY_GROUP otherwise; GROUP_ID_NOT_FOUND for unknown ones). The
    /// records are tombstones for every committed offset and the group itself.
    public func deleteGroups(_ groupIDs: [String]) -> CommandResult<[ErrorCode]> {
        var records = [GroupRecord]()
        var errors = [ErrorCode]()
        for groupID in groupIDs {
            if let consumerGroup = consumerGroups.groups[groupID] {
                guard consumerGroup.members.isEmpty else {
                    errors.append(.nonEmptyGroupError)
                    continue
                }
                for key in (offsets[groupID] ?? [:]).keys.sorted() {
                    records.append(Self.offsetRecord(group: groupID, key, nil))
                }
                records += ConsumerGroupManager.records(from: consumerGroup, to: nil, groupID: groupID)
                errors.append(.none)
                continue
            }
            guard let group = groups[groupID], group.state != .dead else {
                errors.append(groupID.isEmpty ? .invalidGroupID : .groupIDNotFoundError)
                continue
            }
            guard group.state == .empty else {
                errors.append(.nonEmptyGroupError)
                continue
            }
            for key in (offsets[groupID] ?? [:]).keys.sorted() {
                records.append(Self.offsetRecord(group: groupID, key, nil))
            }
            records.append(Self.groupTombstone(groupID))
            errors.append(.none)
        }
        return CommandResult(records: records, answer: errors)
    }
}
