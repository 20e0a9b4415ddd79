import KafkaProtocol

/// Voted for `votedKey` in `epoch` (persisted before the grant was sent); waits for that candidate to win.
struct VotedState: Sendable, Equatable {
    var epoch: Int32
    var votedKey: ReplicaKey
    var electionDeadline: Int64
}
