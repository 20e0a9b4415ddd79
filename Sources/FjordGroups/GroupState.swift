/// The state of a classic group (Kafka's `GroupState`). This file is the one place that says which transitions
/// are legal; `ClassicGroup.transition(to:)` enforces it with a precondition.
///
/// Legal edges (and what causes them):
/// - `empty → preparingRebalance`: the first member joins.
/// - `empty → dead`: the group is deleted (DeleteGroups) or its last offsets expire.
/// - `preparingRebalance → completingRebalance`: every member rejoined, or the rebalance timeout passed with at
///   least one member left; the leader receives the members' metadata.
/// - `preparingRebalance → empty`: the rebalance completed with no member left.
/// - `preparingRebalance → dead`: (unused on a single node: partition emigration).
/// - `completingRebalance → stable`: the leader's SyncGroup assignment is stored.
/// - `completingRebalance → preparingRebalance`: a member joins, leaves, changes its metadata or expires before
///   the leader sent the assignment.
/// - `stable → preparingRebalance`: a member joins, leaves, expires, or the leader rejoins / a member changes its
///   subscription.
/// - `dead` is final: a dead group is removed and a new one of the same id starts `empty`.
public enum GroupState: String, Sendable, CaseIterable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
    case dead = "Dead"

    /// The states this state may move to.
    public var legalNextStates: Set<GroupState> {
        switch self {
        case .empty: [.preparingRebalance, .dead]
        case .preparingRebalance: [.completingRebalance, .empty, .dead]
        case .completingRebalance: [.stable, .preparingRebalance, .dead]
        case .stable: [.preparingRebalance, .dead]
        case .dead: []
        }
    }

    public func canMove(to next: GroupState) -> Bool { legalNextStates.contains(next) }

    /// Parses a ListGroups states filter entry (Kafka compares them case-insensitively).
    public init?(filter: String) {
        guard let state = Self.allCases.first(where: { $0.rawValue.lowercased() == filter.lowercased() }) else {
            return nil
        }
        self = state
    }
}
