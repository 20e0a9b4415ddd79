import KafkaProtocol

/// The leader's view of the ISR (Kafka's `PartitionState`): committed by the controller, or with one AlterPartition
/// in flight. Edges: committed → pendingExpand (a follower caught up) or pendingShrink (followers fell behind);
/// pending → committed (the answer, or newer partition metadata), or back to the last committed ISR (the controller
/// said the change was not applied: INELIGIBLE_REPLICA, OPERATION_NOT_ATTEMPTED).
public enum ISRState: Sendable, Hashable, CustomStringConvertible {
    case committed(isr: Set<NodeID>)
    /// The expansion is assumed to succeed: `maximalISR` already holds `joining`, so the high watermark waits for
    /// it (a stricter rule, harmless if the change fails).
    case pendingExpand(committed: Set<NodeID>, joining: NodeID, sent: AlterPartitionProposal)
    /// The shrink is not assumed: until it commits, the high watermark still waits for the leaving replicas.
    case pendingShrink(committed: Set<NodeID>, leaving: Set<NodeID>, sent: AlterPartitionProposal)

    /// The ISR as the controller last committed it (what `min.insync.replicas` is checked against).
    public var isr: Set<NodeID> {
        switch self {
        case .committed(let isr), .pendingExpand(let isr, _, _), .pendingShrink(let isr, _, _): isr
        }
    }

    /// The ISR the high watermark and acks=all wait for: the committed one plus a replica being added.
    public var maximalISR: Set<NodeID> {
        if case .pendingExpand(let isr, let joining, _) = self { return isr.union([joining]) }
        return isr
    }

    public var inFlight: AlterPartitionProposal? {
        switch self {
        case .committed: nil
        case .pendingExpand(_, _, let sent), .pendingShrink(_, _, let sent): sent
        }
    }

    public var description: String {
        switch self {
        case .committed(let isr): "committed \(isr.sorted())"
        case .pendingExpand(let isr, let joining, _): "committed \(isr.sorted()) + pending \(joining)"
        case .pendingShrink(let isr, let leaving, _): "committed \(isr.sorted()) − pending \(leaving.sorted())"
        }
    }
}
