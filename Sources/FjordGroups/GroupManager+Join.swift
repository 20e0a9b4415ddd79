import KafkaProtocol
import NIOCore

/// What a JoinGroup needs besides the request: who sent it, when, and the id it gets if it is new.
public struct JoinContext: Sendable {
    public var requestID: RequestID
    public var version: Int16
    public var clientID: String
    public var clientHost: String
    /// The member id a new member receives (the driver draws it: client id, "-", a random UUID).
    public var newMemberID: String
    public var now: Int64

    public init(
        requestID: RequestID, version: Int16, clientID: String, clientHost: String, newMemberID: String, now: Int64
    ) {
        self.requestID = requestID
        self.version = version
        self.clientID = clientID
        self.clientHost = clientHost
        self.newMemberID = newMemberID
        self.now = now
    }
}

extension GroupManager {
    /// JoinGroup: answers at once (errors, MEMBER_ID_REQUIRED, a follower rejoining a stable group) or parks the
    /// request until the rebalance completes. The answer is in the outputs under `context.requestID`.
    public mutating func join(_ request: JoinGroupRequest, context: JoinContext) -> GroupOutputs {
        var outputs = GroupOutputs()
        let fail = { (error: ErrorCode) -> GroupOutputs in
            var outputs = GroupOutputs()
            outputs.joinResponses.append((context.requestID, Self.joinError(error, memberID: request.memberID)))
            return outputs
        }
        guard !request.groupID.isEmpty, request.groupID.utf8.count <= configuration.groupIDMaxLength else {
            return fail(.invalidGroupID)
        }
        guard (configuration.minSessionTimeoutMs...configuration.maxSessionTimeoutMs).contains(request.sessionTimeoutMs)
        else {
            return fail(.invalidSessionTimeout)
        }
        guard Self.protocolBytes(request.protocols) <= configuration.memberMetadataMaxBytes else {
            return fail(.invalidRequest)
        }
        var conversion = [GroupRecord]()
        if let consumerGroup = consumerGroups.groups[request.groupID] {
            // A consumer-protocol group: classic members may not join it while it has members; an empty one
            // becomes classic (its records are deleted).
            guard consumerGroup.members.isEmpty else { return fail(.inconsistentGroupProtocol) }
            conversion = ConsumerGroupManager.records(from: consumerGroup, to: nil, groupID: request.groupID)
            consumerGroups.remove(request.groupID)
        }
        let isNewMember = request.memberID.isEmpty
        var group: ClassicGroup
        if let existing = groups[request.groupID] {
            group = existing
        } else {
            guard isNewMember else { return fail(.unknownMemberID) }
            group = ClassicGroup(groupID: request.groupID)
        }
        guard group.supports(protocolType: request.protocolType, protocols: request.protocols.map(\.name)) else {
            return fail(.inconsistentGroupProtocol)
        }
        if group.isEmpty { group.protocolType = request.protocolType }
        if isNewMember {
            let replacesStatic = request.groupInstanceID.map { group.staticMembers[$0] != nil } ?? false
            if !replacesStatic, group.members.count + group.pendingMembers.count >= configuration.maxSize {
                return fail(.groupMaxSizeReached)
            }
            outputs = joinNewMember(request, context: context, group: &group)
        } else {
            outputs = joinKnownMember(request, context: context, group: &group)
        }
        if !group.members.isEmpty || !group.pendingMembers.isEmpty || groups[group.groupID] != nil {
            groups[group.groupID] = group
        }
        outputs.records = conversion + outputs.records
        return outputs
    }

    /// The bytes a member's protocols take: names and metadata (bounded by `memberMetadataMaxBytes`).
    static func protocolBytes(_ protocols: [JoinGroupRequest.JoinGroupRequestProtocol]) -> Int {
        protocols.reduce(0) { $0 + $1.name.utf8.count + $1.metadata.readableBytes }
    }

    /// The request's protocols in buffers of their own: a decoded field is a slice of the whole request frame, and
    /// keeping the slice would keep the frame (up to `socket.request.max.bytes`) alive as long as the member.
    static func ownedProtocols(_ request: JoinGroupRequest) -> [(name: String, metadata: ByteBuffer)] {
        request.protocols.map { (name: $0.name, metadata: ByteBuffer(bytes: $0.metadata.readableBytesView)) }
    }

    private func newMember(_ request: JoinGroupRequest, memberID: String, context: JoinContext) -> GroupMember {
        GroupMember(
            memberID: memberID, groupInstanceID: request.groupInstanceID, clientID: context.clientID,
            clientHost: context.clientHost, sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: context.version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
            protocols: Self.ownedProtocols(request),
            pendingJoin: .init(requestID: context.requestID, version: context.version),
            heartbeatDeadline: context.now + Int64(request.sessionTimeoutMs), hasRejoined: true
        )
    }

    private mutating func joinNewMember(_ request: JoinGroupRequest, context: JoinContext, group: inout ClassicGroup)
        -> GroupOutputs
    {
        if let instance = request.groupInstanceID, let oldMemberID = group.staticMembers[instance] {
            return replaceStaticMember(oldMemberID, request: request, context: context, group: &group)
        }
        if request.groupInstanceID == nil, context.version >= 4 {
            // KIP-394: the member must come back with this id, so a client that never receives the answer
            // leaves no member behind.
            group.pendingMembers[context.newMemberID] = context.now + Int64(request.sessionTimeoutMs)
            var outputs = GroupOutputs()
            outputs.joinResponses.append(
                (context.requestID, Self.joinError(.memberIDRequired, memberID: context.newMemberID)))
            return outputs
        }
        return addMemberAndRebalance(
            newMember(request, memberID: context.newMemberID, context: context), group: &group, now: context.now)
    }

    private mutating func joinKnownMember(_ request: JoinGroupRequest, context: JoinContext, group: inout ClassicGroup)
        -> GroupOutputs
    {
        let memberID = request.memberID
        var outputs = GroupOutputs()
        if group.pendingMembers[memberID] != nil {
            return addMemberAndRebalance(
                newMember(request, memberID: memberID, context: context), group: &group, now: context.now)
        }
        if let instance = request.groupInstanceID, let owner = group.staticMembers[instance], owner != memberID {
            outputs.joinResponses.append((context.requestID, Self.joinError(.fencedInstanceID, memberID: memberID)))
            return outputs
        }
        guard var member = group.members[memberID], group.state != .empty, group.state != .dead else {
            outputs.joinResponses.append((context.requestID, Self.joinError(.unknownMemberID, memberID: memberID)))
            return outputs
        }
        let protocols = Self.ownedProtocols(request)
        let unchanged = member.matches(protocols)
        if let stale = member.pendingJoin {
            outputs.joinResponses.append((stale.requestID, Self.joinError(.rebalanceInProgress, memberID: memberID)))
        }
        member.protocols = protocols
        member.sessionTimeoutMs = request.sessionTimeoutMs
        member.heartbeatDeadline = context.now + Int64(request.sessionTimeoutMs)
        if context.version >= 1 { member.rebalanceTimeoutMs = request.rebalanceTimeoutMs }
        switch group.state {
        case .preparingRebalance:
            member.pendingJoin = .init(requestID: context.requestID, version: context.version)
            member.hasRejoined = true
            group.members[memberID] = member
            outputs.merge(maybeCompleteJoin(&group, now: context.now))
        case .completingRebalance where unchanged, .stable where unchanged && group.leaderID != memberID:
            // Nothing changed: the member gets the current generation again.
            member.pendingJoin = nil
            group.members[memberID] = member
            outputs.joinResponses.append(
                (
                    context.requestID,
                    currentGenerationResponse(group, memberID: memberID, includeMembers: group.leaderID == memberID)
                ))
        default:
            member.pendingJoin = .init(requestID: context.requestID, version: context.version)
            member.hasRejoined = true
            group.members[memberID] = member
            outputs.merge(prepareRebalance(&group, now: context.now))
        }
        return outputs
    }

    /// KIP-345: a static member came back with a new member id. The old id is fenced; a stable group whose chosen
    /// protocol does not change answers at once with the member's old assignment waiting in SyncGroup.
    private mutating func replaceStaticMember(
        _ oldMemberID: String, request: JoinGroupRequest, context: JoinContext, group: inout ClassicGroup
    ) -> GroupOutputs {
        var outputs = GroupOutputs()
        guard var member = group.members[oldMemberID] else { return outputs }
        let newMemberID = context.newMemberID
        if let pending = member.pendingJoin {
            outputs.joinResponses.append((pending.requestID, Self.joinError(.fencedInstanceID, memberID: oldMemberID)))
        }
        if let pending = member.pendingSync {
            outputs.syncResponses.append((pending, Self.syncError(.fencedInstanceID)))
        }
        member.memberID = newMemberID
        member.protocols = Self.ownedProtocols(request)
        member.clientID = context.clientID
        member.clientHost = context.clientHost
        member.sessionTimeoutMs = request.sessionTimeoutMs
        if context.version >= 1 { member.rebalanceTimeoutMs = request.rebalanceTimeoutMs }
        member.heartbeatDeadline = context.now + Int64(request.sessionTimeoutMs)
        member.pendingJoin = nil
        member.pendingSync = nil
        if let index = group.memberOrder.firstIndex(of: oldMemberID) { group.memberOrder[index] = newMemberID }
        group.members[oldMemberID] = nil
        group.members[newMemberID] = member
        group.staticMembers[request.groupInstanceID!] = newMemberID
        let isLeader = group.leaderID == oldMemberID
        if isLeader { group.leaderID = newMemberID }
        switch group.state {
        case .stable where group.selectProtocol() == group.protocolName:
            outputs.records.append(Self.groupMetadataRecord(group))
            let skipAssignment = isLeader && context.version >= 9
            var response = currentGenerationResponse(group, memberID: newMemberID, includeMembers: skipAssignment)
            response.skipAssignment = skipAssignment
            // Before v9 a returning leader must not assign in a stable group (its assignment would not be
            // sent to anyone): it is told the old leader id, so it does not see itself as leader (Kafka does so).
            if isLeader, !skipAssignment { response.leader = oldMemberID }
            outputs.joinResponses.append((context.requestID, response))
        case .preparingRebalance:
            group.members[newMemberID]?.pendingJoin = .init(requestID: context.requestID, version: context.version)
            group.members[newMemberID]?.hasRejoined = true
            outputs.merge(maybeCompleteJoin(&group, now: context.now))
        default:
            group.members[newMemberID]?.pendingJoin = .init(requestID: context.requestID, version: context.version)
            group.members[newMemberID]?.hasRejoined = true
            outputs.merge(prepareRebalance(&group, now: context.now))
        }
        return outputs
    }

    private mutating func addMemberAndRebalance(_ member: GroupMember, group: inout ClassicGroup, now: Int64)
        -> GroupOutputs
    {
        group.pendingMembers[member.memberID] = nil
        group.add(member)
        if group.state == .preparingRebalance {
            if let delayUntil = group.initialDelayUntil, let deadline = group.rebalanceDeadline {
                // A member arrived during the initial delay: wait another delay for more (bounded by the deadline).
                group.initialDelayUntil = min(
                    max(delayUntil, now + Int64(configuration.initialRebalanceDelayMs)), deadline)
            }
            return maybeCompleteJoin(&group, now: now)
        }
        return prepareRebalance(&group, now: now)
    }

    /// Starts a rebalance: members must rejoin; waiting SyncGroups are told REBALANCE_IN_PROGRESS.
    mutating func prepareRebalance(_ group: inout ClassicGroup, now: Int64) -> GroupOutputs {
        var outputs = GroupOutputs()
        if group.state == .completingRebalance {
            for memberID in group.memberOrder {
                group.members[memberID]?.assignment = ByteBuffer()
                if let pending = group.members[memberID]?.pendingSync {
                    outputs.syncResponses.append((pending, Self.syncError(.rebalanceInProgress)))
                    group.members[memberID]?.pendingSync = nil
                }
            }
        }
        for memberID in group.memberOrder {
            let waiting = group.members[memberID]?.pendingJoin != nil
            group.members[memberID]?.hasRejoined = waiting
        }
        let wasEmpty = group.state == .empty
        if group.state != .preparingRebalance { group.transition(to: .preparingRebalance, now: now) }
        let timeout = group.rebalanceTimeoutMs
        if wasEmpty, configuration.initialRebalanceDelayMs > 0 {
            let delay = Int64(configuration.initialRebalanceDelayMs)
            group.initialDelayUntil = now + delay
            group.rebalanceDeadline = now + max(timeout, delay)
        } else {
            group.initialDelayUntil = nil
            group.rebalanceDeadline = now + timeout
        }
        outputs.merge(maybeCompleteJoin(&group, now: now))
        return outputs
    }

    mutating func maybeCompleteJoin(_ group: inout ClassicGroup, now: Int64) -> GroupOutputs {
        guard group.state == .preparingRebalance, group.allMembersRejoined, (group.initialDelayUntil ?? 0) <= now else {
            return GroupOutputs()
        }
        return completeJoin(&group, now: now, deadlinePassed: false)
    }

    /// Ends the join phase: members that did not rejoin are dropped, the generation advances, a protocol is
    /// chosen and every waiting JoinGroup is answered (the leader with every member's metadata).
    mutating func completeJoin(_ group: inout ClassicGroup, now: Int64, deadlinePassed: Bool) -> GroupOutputs {
        var outputs = GroupOutputs()
        if deadlinePassed {
            for member in group.orderedMembers where !member.hasRejoined { group.remove(member.memberID) }
        }
        group.rebalanceDeadline = nil
        group.initialDelayUntil = nil
        group.generationID += 1
        if group.isEmpty {
            group.protocolName = nil
            group.leaderID = nil
            group.transition(to: .empty, now: now)
            outputs.records.append(Self.groupMetadataRecord(group))
            return outputs
        }
        if group.leaderID.map({ group.members[$0] == nil }) ?? true { group.leaderID = group.memberOrder.first }
        group.protocolName = group.selectProtocol()
        group.transition(to: .completingRebalance, now: now)
        group.pendingSyncMembers = Set(group.memberOrder)
        group.syncDeadline = now + Int64(group.orderedMembers.map(\.rebalanceTimeoutMs).max() ?? 0)
        for memberID in group.memberOrder {
            guard var member = group.members[memberID] else { continue }
            if let pending = member.pendingJoin {
                let response = currentGenerationResponse(
                    group, memberID: memberID, includeMembers: memberID == group.leaderID)
                outputs.joinResponses.append((pending.requestID, response))
            }
            member.pendingJoin = nil
            member.hasRejoined = false
            member.heartbeatDeadline = now + Int64(member.sessionTimeoutMs)
            group.members[memberID] = member
        }
        return outputs
    }

    /// The JoinGroup answer describing the current generation.
    func currentGenerationResponse(_ group: ClassicGroup, memberID: String, includeMembers: Bool) -> JoinGroupResponse {
        JoinGroupResponse(
            errorCode: ErrorCode.none.rawValue, generationID: group.generationID, protocolType: group.protocolType,
            protocolName: group.protocolName, leader: group.leaderID ?? "", memberID: memberID,
            members: includeMembers
                ? group.orderedMembers.map { member in
                    JoinGroupResponse.JoinGroupResponseMember(
                        memberID: member.memberID, groupInstanceID: member.groupInstanceID,
                        metadata: member.metadata(for: group.protocolName)
                    )
                } : []
        )
    }
}
