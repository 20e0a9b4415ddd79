import KafkaProtocol

/// One reconciliation step of a KIP-848 (`group.protocol=consumer`) member, towards the assignment its last
/// ConsumerGroupHeartbeat answer carried. Pure.
///
/// The coordinator names partitions by topic id; `names` resolves the ids the client knows. Partitions the member
/// owns and the target no longer holds are revoked; partitions of the target the member does not own yet are
/// assigned, except those of topics whose id cannot be resolved yet (they wait for metadata, and the member keeps
/// heartbeating with what it has). Only these deltas reach the `RebalanceListener`. What the member owns after the
/// step is what its next heartbeat reports (by topic id), which acknowledges the revocations to the coordinator.
struct ConsumerProtocolReconciliation: Equatable, Sendable {
    /// Partitions to revoke (commit in auto mode, `onRevoked`, stop fetching), sorted.
    var revoked: [TopicPartition]
    /// Partitions to start (`onAssigned`, fetch from the committed offsets), sorted.
    var assigned: [TopicPartition]
    /// What the member owns after the step: the partitions its next heartbeat reports.
    var owned: Set<TopicPartition>
    /// Topic ids of the target that could not be resolved to a name: the step must be taken again once metadata
    /// knows them.
    var unresolved: Set<KafkaUUID>

    init(owned current: Set<TopicPartition>, target: [KafkaUUID: Set<Int32>], names: [KafkaUUID: String]) {
        var resolved = Set<TopicPartition>()
        var unresolved = Set<KafkaUUID>()
        for (id, partitions) in target {
            guard let name = names[id] else {
                unresolved.insert(id)
                continue
            }
            for partition in partitions { resolved.insert(TopicPartition(name, partition)) }
        }
        revoked = current.subtracting(resolved).sorted()
        assigned = resolved.subtracting(current).sorted()
        owned = resolved
        self.unresolved = unresolved
    }

    /// Whether the step changes nothing the member owns.
    var isEmpty: Bool { revoked.isEmpty && assigned.isEmpty }
}
