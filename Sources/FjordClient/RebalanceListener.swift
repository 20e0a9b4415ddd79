/// Callbacks for partition changes in a group. They run on the consumer (its fetch loop waits for them), so a
/// callback may commit offsets or store them externally before partitions move.
public struct RebalanceListener: Sendable {
    /// Partitions given to this member (all of them after an eager rebalance, only the new ones when cooperative).
    public var onAssigned: @Sendable ([TopicPartition]) async -> Void
    /// Partitions taken away in an orderly rebalance; the member still owned them until now.
    public var onRevoked: @Sendable ([TopicPartition]) async -> Void
    /// Partitions lost without a rebalance (the member was fenced or its session expired): another member may
    /// already own them, so offsets must not be committed for them.
    public var onLost: @Sendable ([TopicPartition]) async -> Void

    public init(
        onAssigned: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
        onRevoked: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
        onLost: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in }
    ) {
        self.onAssigned = onAssigned
        self.onRevoked = onRevoked
        self.onLost = onLost
    }
}
