import NIOCore

/// An opaque id the driver gives each request that may be answered later (JoinGroup and SyncGroup wait for the
/// rebalance). The answer comes back in `GroupOutputs` under the same id.
public typealias RequestID = UInt64

/// One member of a classic group, as the coordinator knows it.
public struct GroupMember: Sendable, Equatable {
    public var memberID: String
    public var groupInstanceID: String?
    public var clientID: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    public var rebalanceTimeoutMs: Int32
    /// The protocols the member offered, in its order of preference.
    public var protocols: [(name: String, metadata: ByteBuffer)]
    /// Its assignment of the current generation (empty until the leader's SyncGroup).
    public var assignment: ByteBuffer = ByteBuffer()
    /// A JoinGroup waiting for the rebalance to complete.
    public var pendingJoin: PendingJoin?
    /// A SyncGroup waiting for the leader's assignment.
    public var pendingSync: RequestID?
    /// The member is removed when `now` passes this without a heartbeat (ms).
    public var heartbeatDeadline: Int64
    /// The member rejoined in the current rebalance (JoinGroup received in PreparingRebalance).
    public var hasRejoined = false

    public struct PendingJoin: Sendable, Equatable {
        public var requestID: RequestID
        public var version: Int16
    }

    public static func == (lhs: GroupMember, rhs: GroupMember) -> Bool {
        lhs.memberID == rhs.memberID && lhs.groupInstanceID == rhs.groupInstanceID
            && lhs.protocols.map(\.name) == rhs.protocols.map(\.name)
            && lhs.protocols.map(\.metadata) == rhs.protocols.map(\.metadata) && lhs.assignment == rhs.assignment
    }

    /// The metadata the member offered for `protocolName`.
    public func metadata(for protocolName: String?) -> ByteBuffer {
        protocols.first { $0.name == protocolName }?.metadata ?? ByteBuffer()
    }

    /// Whether a JoinGroup's protocols are the ones this member already has (same names, order and metadata).
    func matches(_ other: [(name: String, metadata: ByteBuffer)]) -> Bool {
        protocols.count == other.count
            && zip(protocols, other).allSatisfy { $0.name == $1.name && $0.metadata == $1.metadata }
    }
}

/// A classic group: its members, generation, chosen protocol and state.
public struct ClassicGroup: Sendable {
    public let groupID: String
    public private(set) var state: GroupState = .empty
    public var generationID: Int32 = 0
    public var protocolType: String?
    /// The protocol chosen for the current generation.
    public var protocolName: String?
    public var leaderID: String?
    /// Members by member id, and the order they joined (the first becomes leader).
    public var members: [String: GroupMember] = [:]
    public var memberOrder: [String] = []
    /// Static members: group.instance.id → member id.
    public var staticMembers: [String: String] = [:]
    /// Member ids handed out with MEMBER_ID_REQUIRED, by the deadline to rejoin with them (ms).
    public var pendingMembers: [String: Int64] = [:]
    /// When the current rebalance completes even if not every member rejoined (ms).
    public var rebalanceDeadline: Int64?
    /// Members that got their JoinGroup answer but have not sent SyncGroup yet, and when they must have (the
    /// rebalance timeout after the join completed). Kafka removes the stragglers then and rebalances, so a leader
    /// that never syncs cannot hold the group in CompletingRebalance forever.
    public var pendingSyncMembers: Set<String> = []
    public var syncDeadline: Int64?
    /// While set, the rebalance waits until then even if everyone rejoined (`group.initial.rebalance.delay.ms`).
    public var initialDelayUntil: Int64?
    /// When the state last changed (ms), as GroupMetadataValue's `currentStateTimestamp`.
    public var stateTimestamp: Int64 = -1

    public init(groupID: String) {
        self.groupID = groupID
    }

    /// Moves to `next`; an illegal edge is a bug (see `GroupState`).
    mutating func transition(to next: GroupState, now: Int64) {
        precondition(state.canMove(to: next), "group \(groupID): illegal transition \(state) → \(next)")
        state = next
        stateTimestamp = now
    }

    /// Replaces the state wholesale: only for replaying stored records at load time.
    mutating func restore(state: GroupState) { self.state = state }

    public var isEmpty: Bool { members.isEmpty }
    public var orderedMembers: [GroupMember] { memberOrder.compactMap { members[$0] } }

    mutating func add(_ member: GroupMember) {
        if members[member.memberID] == nil { memberOrder.append(member.memberID) }
        members[member.memberID] = member
        if let instance = member.groupInstanceID { staticMembers[instance] = member.memberID }
        if leaderID == nil { leaderID = member.memberID }
    }

    @discardableResult
    mutating func remove(_ memberID: String) -> GroupMember? {
        guard let member = members.removeValue(forKey: memberID) else { return nil }
        memberOrder.removeAll { $0 == memberID }
        if let instance = member.groupInstanceID, staticMembers[instance] == memberID { staticMembers[instance] = nil }
        if leaderID == memberID { leaderID = memberOrder.first }
        return member
    }

    /// The protocol every member supports that most members prefer (Kafka's vote), or nil.
    func selectProtocol() -> String? {
        let all = orderedMembers
        guard let first = all.first else { return nil }
        var candidates = first.protocols.map(\.name)
        for member in all.dropFirst() {
            let names = Set(member.protocols.map(\.name))
            candidates.removeAll { !names.contains($0) }
        }
        guard !candidates.isEmpty else { return nil }
        var votes: [String: Int] = [:]
        for member in all {
            if let vote = member.protocols.first(where: { candidates.contains($0.name) }) {
                votes[vote.name, default: 0] += 1
            }
        }
        return candidates.max { (votes[$0] ?? 0) < (votes[$1] ?? 0) }
    }

    /// Whether a joining member's protocols can live with the group's (same type; a protocol in common).
    func supports(protocolType: String, protocols: [String]) -> Bool {
        if isEmpty { return !protocolType.isEmpty && !protocols.isEmpty }
        guard self.protocolType == protocolType else { return false }
        var candidates = Set(protocols)
        for member in members.values { candidates.formIntersection(member.protocols.map(\.name)) }
        return !candidates.isEmpty
    }

    /// Every member (and pending member) rejoined the current rebalance.
    var allMembersRejoined: Bool {
        pendingMembers.isEmpty && members.values.allSatisfy(\.hasRejoined)
    }

    /// The largest rebalance timeout of the members (how long a rebalance may wait for them).
    var rebalanceTimeoutMs: Int64 {
        Int64(members.values.map(\.rebalanceTimeoutMs).max() ?? 0)
    }
}
