import KafkaProtocol

/// KIP-996 pre-vote: asks the voters whether it could win at `epoch + 1` without bumping or persisting anything.
/// `retained` is the quorum state it came from (still the persisted one). After a lost round it backs off until
/// `backoffUntil`, then asks again.
struct ProspectiveState: Sendable, Equatable {
    var epoch: Int32
    var retained: QuorumState
    var granted: Set<NodeID>
    var rejected: Set<NodeID>
    var electionDeadline: Int64
    var backoffUntil: Int64?
    var retries: Int
}
