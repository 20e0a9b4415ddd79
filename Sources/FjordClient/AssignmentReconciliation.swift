/// What a group member does with the assignment SyncGroup gave it (the consumer's reconciliation). Pure.
///
/// - Eager protocols revoke everything before joining, so the member owns nothing here and is assigned the whole
///   target.
/// - Cooperative protocols keep what stays: only partitions leaving the member are revoked, only new ones are
///   announced as assigned, and a member that revoked anything rejoins at once so that the group leader can hand
///   the freed partitions to their new owners in a follow-up round.
struct AssignmentReconciliation: Equatable, Sendable {
    /// Partitions to revoke (commit, then `onRevoked`), sorted.
    var revoked: [TopicPartition]
    /// Partitions to announce with `onAssigned`, sorted.
    var assigned: [TopicPartition]
    /// Whether the member must rejoin right away.
    var rejoin: Bool

    init(owned: Set<TopicPartition>, target: Set<TopicPartition>, cooperative: Bool) {
        revoked = owned.subtracting(target).sorted()
        assigned = (cooperative ? target.subtracting(owned) : target).sorted()
        rejoin = cooperative && !revoked.isEmpty
    }
}
