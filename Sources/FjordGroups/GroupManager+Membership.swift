import KafkaProtocol
import NIOCore

extension GroupManager {
    /// The member a request names, or the error Kafka gives: UNKNOWN_MEMBER_ID for an unknown group or member,
    /// FENCED_INSTANCE_ID when the instance id now belongs to another member id.
    private func check(_ groupID: String, memberID: String, instanceID: String?) -> MemberCheck {
        guard let group = groups[groupID] else { return .failure(.unknownMemberID) }
        if let instanceID, let owner = group.staticMembers[instanceID], owner != memberID {
            return .failure(.fencedInstanceID)
        }
        guard group.members[memberID] != nil else { return .failure(.unknownMemberID) }
        return .success(group)
    }

    private enum MemberCheck {
        case success(ClassicGroup)
        case failure(ErrorCode)
    }

    /// SyncGroup: the leader's assignment makes the group stable and answers every waiting member; a follower
    /// waits for it. The answer is in the outputs under `requestID`.
    public mutating func sync(_ request: SyncGroupRequest, requestID: RequestID, now: Int64) -> GroupOutputs {
        var outputs = GroupOutputs()
        let fail = { (error: ErrorCode) -> GroupOutputs in
            var outputs = GroupOutputs()
            outputs.syncResponses.append((requestID, Self.syncError(error)))
            return outputs
        }
        var group: ClassicGroup
        switch check(request.groupID, memberID: request.memberID, instanceID: request.groupInstanceID) {
        case .failure(let error): return fail(error)
        case .success(let found): group = found
        }
        guard request.generationID == group.generationID else { return fail(.illegalGeneration) }
        if let type = request.protocolType, type != group.protocolType { return fail(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != group.protocolName { return fail(.inconsistentGroupProtocol) }
        let memberID = request.memberID
        group.pendingSyncMembers.remove(memberID)
        let sessionTimeoutMs = Int64(group.members[memberID]!.sessionTimeoutMs)
        group.members[memberID]?.heartbeatDeadline = now + sessionTimeoutMs
        switch group.state {
        case .empty, .dead: return fail(.unknownMemberID)
        case .preparingRebalance: return fail(.rebalanceInProgress)
        case .stable:
            outputs.syncResponses.append((requestID, syncResponse(group, memberID: memberID)))
        case .completingRebalance:
            if let stale = group.members[memberID]?.pendingSync {
                outputs.syncResponses.append((stale, Self.syncError(.rebalanceInProgress)))
            }
            group.members[memberID]?.pendingSync = requestID
            if memberID == group.leaderID {
                // Assignments for members the group does not have are ignored (as Kafka does); members left out
                // get nothing. Each kept assignment is copied out of the request frame.
                var assignments: [String: ByteBuffer] = [:]
                for entry in request.assignments where group.members[entry.memberID] != nil {
                    guard entry.assignment.readableBytes <= configuration.memberMetadataMaxBytes else {
                        group.members[memberID]?.pendingSync = nil
                        groups[group.groupID] = group
                        return fail(.invalidRequest)
                    }
                    assignments[entry.memberID] = ByteBuffer(bytes: entry.assignment.readableBytesView)
                }
                for id in group.memberOrder { group.members[id]?.assignment = assignments[id] ?? ByteBuffer() }
                group.transition(to: .stable, now: now)
                outputs.records.append(Self.groupMetadataRecord(group))
                for id in group.memberOrder {
                    guard let pending = group.members[id]?.pendingSync else { continue }
                    outputs.syncResponses.append((pending, syncResponse(group, memberID: id)))
                    group.members[id]?.pendingSync = nil
                }
            }
        }
        groups[group.groupID] = group
        return outputs
    }

    private func syncResponse(_ group: ClassicGroup, memberID: String) -> SyncGroupResponse {
        SyncGroupResponse(
            errorCode: ErrorCode.none.rawValue, protocolType: group.protocolType, protocolName: group.protocolName,
            assignment: group.members[memberID]?.assignment ?? ByteBuffer()
        )
    }

    /// Heartbeat: keeps the member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin.
    public mutating func heartbeat(
        groupID: String, memberID: String, instanceID: String?, generationID: Int32, now: Int64
    ) -> ErrorCode {
        var group: ClassicGroup
        switch check(groupID, memberID: memberID, instanceID: instanceID) {
        case .failure(let error):
            return error
        case .success(let found):
            group = found
        }
        guard group.state != .empty, group.state != .dead else { return .unknownMemberID }
        guard generationID == group.generationID else { return .illegalGeneration }
        let sessionTimeoutMs = Int64(group.members[memberID]!.sessionTimeoutMs)
        group.members[memberID]?.heartbeatDeadline = now + sessionTimeoutMs
        groups[groupID] = group
        return group.state == .preparingRebalance ? .rebalanceInProgress : .none
    }

    /// One member named in a LeaveGroup.
    public struct LeavingMember: Sendable {
        public var memberID: String
        public var instanceID: String?

        public init(memberID: String, instanceID: String?) {
            self.memberID = memberID
            self.instanceID = instanceID
        }
    }

    /// LeaveGroup (single member before v3, batched from v3): removes each named member; the group rebalances.
    public mutating func leave(groupID: String, members leaving: [LeavingMember], now: Int64) -> (
        errors: [ErrorCode], outputs: GroupOutputs
    ) {
        guard var group = groups[groupID] else { return (leaving.map { _ in .unknownMemberID }, GroupOutputs()) }
        var outputs = GroupOutputs()
        var errors = [ErrorCode]()
        for leaver in leaving {
            var memberID = leaver.memberID
            if let instance = leaver.instanceID {
                guard let owner = group.staticMembers[instance] else {
                    errors.append(.unknownMemberID)
                    continue
                }
                if !memberID.isEmpty, memberID != owner {
                    errors.append(.fencedInstanceID)
                    continue
                }
                memberID = owner
            } else if group.pendingMembers.removeValue(forKey: memberID) != nil {
                errors.append(.none)
                outputs.merge(maybeCompleteJoin(&group, now: now))
                continue
            }
            guard group.members[memberID] != nil else {
                errors.append(.unknownMemberID)
                continue
            }
            outputs.merge(removeMember(memberID, from: &group, now: now, reason: .left))
            errors.append(.none)
        }
        groups[groupID] = group
        return (errors, outputs)
    }
}
