/// What a (re)starting node gives the core: only what was fsynced. `log` holds the batches after `snapshot`
/// (or from offset 0 without one), consecutive and in order; the driver drops a torn tail before it calls.
public struct RaftPersistentState: Sendable {
    public var quorumState: QuorumState?
    public var snapshot: RaftSnapshot?
    public var log: [RaftBatch]

    public init(quorumState: QuorumState? = nil, snapshot: RaftSnapshot? = nil, log: [RaftBatch] = []) {
        self.quorumState = quorumState
        self.snapshot = snapshot
        self.log = log
    }

    /// A node that has never run.
    public static let empty = RaftPersistentState()
}
