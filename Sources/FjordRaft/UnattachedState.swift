/// No leader and no vote in `epoch` (after start-up, or after seeing a higher epoch). A voter starts an election
/// when `electionDeadline` passes; an observer keeps asking voters who leads.
struct UnattachedState: Sendable, Equatable {
    var epoch: Int32
    var electionDeadline: Int64
}
