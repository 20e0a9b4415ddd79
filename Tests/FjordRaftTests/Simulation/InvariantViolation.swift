/// A broken invariant of the Raft simulation: which named check failed and what it saw. The simulation stops at the
/// first one and the test prints it with the seed that replays it.
struct InvariantViolation: Error, Equatable, CustomStringConvertible {
    /// The name of the check (`singleLeaderPerEpoch`, `committedPrefix`, ...).
    var invariant: String
    var message: String

    init(_ invariant: String, _ message: String) {
        self.invariant = invariant
        self.message = message
    }

    var description: String { "[\(invariant)] \(message)" }
}
