import KafkaProtocol

/// A leader that resigned (graceful shutdown or lost check-quorum): answers fetches no more, keeps telling the
/// voters with EndQuorumEpoch until they acknowledge, and starts an election when `electionDeadline` passes.
struct ResignedState: Sendable, Equatable {
    var epoch: Int32
    var unackedVoters: Set<NodeID>
    var preferredSuccessors: [ReplicaKey]
    var electionDeadline: Int64
}
