import KafkaProtocol

/// Runs for leader of `epoch` (persisted: voted for itself). Backs off after a lost round, then goes back to
/// prospective.
struct CandidateState: Sendable, Equatable {
    var epoch: Int32
    var granted: Set<NodeID>
    var rejected: Set<NodeID>
    var electionDeadline: Int64
    var backoffUntil: Int64?
    var retries: Int
}
