/// The replica lists of a partition reassignment (KIP-455), as Kafka's `PartitionReassignmentReplicas` keeps them.
///
/// Moving a partition from replicas `current` to `target` goes through two metadata changes. The first makes the
/// replica list `target` followed by the replicas that are leaving (`removing = current − target`), and names the
/// new ones (`adding = target − current`): they start following the leader. Once the ISR holds every replica that
/// stays (all of `target`), the second change drops the leaving ones from the replicas and the ISR and clears both
/// lists — a reassignment that only reorders or drops in-sync replicas completes with the first change.
public struct PartitionReassignment: Sendable, Equatable {
    /// The replica list while it runs: the target, then the replicas being removed.
    public var replicas: [Int32]
    public var adding: [Int32]
    public var removing: [Int32]

    public init(replicas: [Int32], adding: [Int32], removing: [Int32]) {
        self.replicas = replicas
        self.adding = adding
        self.removing = removing
    }

    /// A reassignment from the partition's current replica list (which may itself be mid-reassignment: a new
    /// target replaces the old one, and replicas the old one was adding that the new one drops are removed).
    public init(from current: [Int32], to target: [Int32]) {
        let removing = current.filter { !target.contains($0) }.sorted()
        self.init(
            replicas: target + removing, adding: target.filter { !current.contains($0) }.sorted(), removing: removing)
    }

    /// The reassignment in progress on `partition`.
    public init(ongoing partition: MetadataImage.Partition) {
        self.init(
            replicas: partition.replicas, adding: partition.addingReplicas, removing: partition.removingReplicas)
    }

    public var isInProgress: Bool { !adding.isEmpty || !removing.isEmpty }

    /// The replica list before the reassignment began (what a cancellation returns to).
    public var originalReplicas: [Int32] { replicas.filter { !adding.contains($0) } }

    /// The replicas and ISR once the reassignment is complete with `isr`, or nil while it must wait: every replica
    /// that stays must be in the ISR, and at least one member must remain.
    public func completed(withISR isr: [Int32]) -> (replicas: [Int32], isr: [Int32])? {
        guard isInProgress else { return nil }
        let staying = replicas.filter { !removing.contains($0) }
        let stayingISR = isr.filter { !removing.contains($0) }
        guard !staying.isEmpty, !stayingISR.isEmpty, staying.allSatisfy(stayingISR.contains) else { return nil }
        return (staying, stayingISR)
    }
}
