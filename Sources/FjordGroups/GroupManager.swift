import KafkaProtocol
import NIOCore

/// A committed offset as OffsetCommitValue stores it.
public struct CommittedOffset: Sendable, Equatable {
    public var offset: Int64
    public var leaderEpoch: LeaderEpoch
    public var metadata: String
    public var commitTimestamp: Int64
    public var expireTimestamp: Int64 = -1
}

/// The group coordinator as a pure state machine (STYLE.md §6): classic groups (join, sync, heartbeat, leave,
/// session and rebalance timeouts, static membership) and committed offsets.
///
/// Every input carries the time (`now`, ms since the epoch) and, where an id must be invented, the id; nothing is
/// read from a clock or a random source. Every call returns `GroupOutputs`: records for `__consumer_offsets`
/// (the driver appends them before anything else), and answers for JoinGroup/SyncGroup requests that waited.
/// Offsets change only by `replay(_:)` of committed records — the same path that rebuilds the state at start-up.
public struct GroupManager: Sendable {
    public var configuration: GroupConfiguration
    public internal(set) var groups: [String: ClassicGroup] = [:]
    /// Groups of the KIP-848 consumer protocol. A group id names either a classic group or a consumer group;
    /// committed offsets (`offsets`) are shared by both kinds.
    public internal(set) var consumerGroups: ConsumerGroupManager
    /// Committed offsets per group.
    public internal(set) var offsets: [String: [TopicPartition: CommittedOffset]] = [:]
    /// The `__consumer_offsets` partitions this coordinator serves or is loading (`GroupManager+Partitions`).
    public internal(set) var partitions = CoordinatorPartitions()

    public init(configuration: GroupConfiguration = GroupConfiguration()) {
        self.configuration = configuration
        self.consumerGroups = ConsumerGroupManager(configuration: configuration.consumer)
    }

    /// The earliest time `tick` has something to do, or nil.
    public var nextDeadline: Int64? {
        var deadline: Int64?
        func consider(_ time: Int64?) {
            guard let time else { return }
            deadline = min(deadline ?? time, time)
        }
        for group in groups.values {
            consider(group.rebalanceDeadline)
            for member in group.members.values where member.pendingJoin == nil { consider(member.heartbeatDeadline) }
            group.pendingMembers.values.forEach(consider)
        }
        return deadline
    }

    /// Expires members whose session ended, pending member ids never used, and completes rebalances whose
    /// deadline passed.
    public mutating func tick(now: Int64) -> GroupOutputs {
        var outputs = GroupOutputs()
        for groupID in groups.keys.sorted() {
            guard var group = groups[groupID] else { continue }
            for (memberID, deadline) in group.pendingMembers where deadline <= now {
                group.pendingMembers[memberID] = nil
            }
            let expired = group.orderedMembers.filter { member in
                member.heartbeatDeadline <= now && member.pendingJoin == nil
                    && !(group.state == .preparingRebalance && member.hasRejoined)
            }
            for member in expired {
                outputs.merge(removeMember(member.memberID, from: &group, now: now, reason: .expired))
            }
            if group.state == .completingRebalance || group.state == .stable {
                if let deadline = group.syncDeadline, deadline <= now {
                    // Members that never sent SyncGroup within the rebalance timeout leave; the group rebalances.
                    let stragglers = group.memberOrder.filter { group.pendingSyncMembers.contains($0) }
                    group.pendingSyncMembers.removeAll()
                    group.syncDeadline = nil
                    for memberID in stragglers {
                        outputs.merge(removeMember(memberID, from: &group, now: now, reason: .expired))
                    }
                }
            } else {
                group.pendingSyncMembers.removeAll()
                group.syncDeadline = nil
            }
            if group.state == .preparingRebalance {
                if let deadline = group.rebalanceDeadline, deadline <= now {
                    outputs.merge(completeJoin(&group, now: now, deadlinePassed: true))
                } else {
                    outputs.merge(maybeCompleteJoin(&group, now: now))
                }
            }
            groups[groupID] = group
        }
        return outputs
    }

    // MARK: Helpers shared by the request handlers

    /// Why a member left.
    enum RemovalReason { case left, expired, fenced }

    /// Removes a member and moves the group on: a stable or completing group rebalances, a preparing one may now
    /// be complete. A waiting JoinGroup is answered UNKNOWN_MEMBER_ID (FENCED_INSTANCE_ID when replaced).
    mutating func removeMember(_ memberID: String, from group: inout ClassicGroup, now: Int64, reason: RemovalReason)
        -> GroupOutputs
    {
        var outputs = GroupOutputs()
        guard let member = group.remove(memberID) else { return outputs }
        let error: ErrorCode = reason == .fenced ? .fencedInstanceID : .unknownMemberID
        if let pending = member.pendingJoin {
            outputs.joinResponses.append((pending.requestID, Self.joinError(error, memberID: memberID)))
        }
        if let pending = member.pendingSync {
            outputs.syncResponses.append((pending, Self.syncError(error)))
        }
        switch group.state {
        case .stable, .completingRebalance:
            outputs.merge(prepareRebalance(&group, now: now))
        case .preparingRebalance:
            outputs.merge(maybeCompleteJoin(&group, now: now))
        case .empty, .dead:
            break
        }
        return outputs
    }

    static func joinError(_ error: ErrorCode, memberID: String = "") -> JoinGroupResponse {
        JoinGroupResponse(
            errorCode: error.rawValue, generationID: -1, protocolName: nil, leader: "", memberID: memberID)
    }

    static func syncError(_ error: ErrorCode) -> SyncGroupResponse {
        SyncGroupResponse(errorCode: error.rawValue, assignment: ByteBuffer())
    }
}
