import KafkaProtocol

/// The role of a Raft node, each with its own state type (`UnattachedState`, `VotedState`, `ProspectiveState`,
/// `CandidateState`, `LeaderState`, `FollowerState`, `ResignedState`, one file each). The legal edges are listed in
/// RaftRole+Transitions.swift, the only place that assigns a role.
enum RaftRole: Sendable, Equatable {
    case unattached(UnattachedState)
    case voted(VotedState)
    case prospective(ProspectiveState)
    case candidate(CandidateState)
    case leader(LeaderState)
    case follower(FollowerState)
    case resigned(ResignedState)

    var name: RaftRoleSummary.Name {
        switch self {
        case .unattached: .unattached
        case .voted: .voted
        case .prospective: .prospective
        case .candidate: .candidate
        case .leader: .leader
        case .follower: .follower
        case .resigned: .resigned
        }
    }

    /// The node's current epoch (a prospective's is not bumped).
    var epoch: Int32 {
        switch self {
        case .unattached(let state): state.epoch
        case .voted(let state): state.epoch
        case .prospective(let state): state.epoch
        case .candidate(let state): state.epoch
        case .leader(let state): state.epoch
        case .follower(let state): state.epoch
        case .resigned(let state): state.epoch
        }
    }
}
