import KafkaProtocol
import NIOCore

/// The Raft consensus core of `__cluster_metadata` (Kafka's KRaft: KIP-595, KIP-630 snapshots, KIP-996 pre-vote,
/// KIP-853 voters in the log) as a pure state machine: the driver feeds `RaftInput`s to `step` and carries out the
/// returned `RaftOutput`s in order. No I/O, clocks or randomness it was not given (`randomSeed`).
///
/// What holds on this node (preconditions): one leader per epoch, the epoch never goes back, the high watermark
/// never goes back, nothing at or below the high watermark is truncated, each committed batch is handed to the
/// driver once, in order.
public struct RaftNode: Sendable {
    let configuration: RaftConfiguration
    var random: RaftRandom
    /// The time of the latest tick (or of init).
    var now: Int64
    var state: RaftRole
    var raftLog: RaftLog
    /// The log is fsynced up to here (exclusive).
    var persistedEndOffset: Int64
    var highWatermarkValue: Int64?
    /// Batches below this offset were handed out in `.commit` (or are covered by the snapshot the node started with).
    var appliedEndOffset: Int64
    /// The current voter set: the latest `VotersRecord` of the log or snapshot, else the configured voters.
    var voterSet: [ReplicaKey]
    /// The `VotersRecord` behind `voterSet` (nil: the configured voters) and its offset in the log (nil: it came
    /// from the snapshot).
    var votersRecord: VotersRecord?
    var votersRecordOffset: Int64?
    /// The quorum state last persisted (or loaded): a transition persists only when it changes.
    var persistedQuorumState: QuorumState
    /// Requests in flight per destination: a response is accepted only if it answers one of these.
    var requests = RaftRequests()
    /// Outputs produced outside `step` (by `propose`), returned first by the next `step`.
    var pendingOutputs: [RaftOutput] = []

    /// Starts (or restarts) a node from what was fsynced. A restarted node comes back unattached (or voted) in its
    /// persisted epoch; committed batches after the snapshot are handed out again as the high watermark passes them.
    public init(configuration: RaftConfiguration, persisted: RaftPersistentState, randomSeed: UInt64, now: Int64) {
        self.configuration = configuration
        self.random = RaftRandom(seed: randomSeed)
        self.now = now
        self.raftLog = RaftLog(snapshot: persisted.snapshot, batches: persisted.log)
        self.persistedEndOffset = raftLog.endOffset
        // A snapshot holds only committed state: the high watermark is at least its end.
        self.highWatermarkValue = persisted.snapshot?.id.offset
        self.appliedEndOffset = raftLog.startOffset
        self.voterSet = configuration.voters
        let quorumState = persisted.quorumState ?? QuorumState(leaderEpoch: 0)
        self.persistedQuorumState = quorumState
        self.state = .unattached(UnattachedState(epoch: quorumState.leaderEpoch, electionDeadline: now))
        recomputeVoterSet()
        restoreRole(from: quorumState)
    }

    /// Feeds one input and returns what the driver must do, in order.
    public mutating func step(_ input: RaftInput) -> [RaftOutput] {
        var outputs = pendingOutputs
        pendingOutputs = []
        switch input {
        case .tick(let time):
            precondition(time >= now, "time went back from \(now) to \(time)")
            now = time
            onTick(into: &outputs)
        case .received(let message, let sender):
            onReceive(message, from: sender, into: &outputs)
        case .requestFailed(let node, let correlationID):
            onRequestFailed(to: node, correlationID: correlationID, into: &outputs)
        case .persisted(let offset):
            onPersisted(through: offset, into: &outputs)
        case .snapshotTaken(let snapshot):
            onSnapshotTaken(snapshot, into: &outputs)
        case .resign:
            onResignRequested(into: &outputs)
        }
        return outputs
    }

    // MARK: Read-only views (for the driver and the simulation's invariant checks)

    /// The role's name, epoch, known leader and vote.
    public var role: RaftRoleSummary {
        RaftRoleSummary(name: state.name, epoch: state.epoch, leaderID: leaderID, votedKey: votedKey)
    }

    /// The high watermark this node knows (nil until it learned one in this run).
    public var highWatermark: Int64? { highWatermarkValue }

    /// The offset after the last batch of the log (persisted or not).
    public var logEndOffset: Int64 { raftLog.endOffset }

    /// The first offset held as batches: the latest snapshot's end, or 0.
    public var logStartOffset: Int64 { raftLog.startOffset }

    /// The log's end up to which the driver reported an fsync.
    public var persistedLogEndOffset: Int64 { persistedEndOffset }

    /// The batches after the latest snapshot.
    public var log: [RaftBatch] { raftLog.batches }

    /// The latest snapshot (taken here or installed from the leader).
    public var latestSnapshot: RaftSnapshot? { raftLog.snapshot }

    /// The quorum state as last persisted.
    public var quorumState: QuorumState { persistedQuorumState }

    /// Everything below this offset has been handed out in `.commit` outputs (or was in the starting snapshot).
    public var committedEndOffset: Int64 { appliedEndOffset }

    /// The batches handed out as committed that the log still holds (after the latest snapshot).
    public var committedLog: [RaftBatch] { raftLog.batches(in: raftLog.startOffset..<appliedEndOffset) }

    /// The current voter set.
    public var voters: [ReplicaKey] { voterSet }

    /// Whether this node is in the voter set (otherwise it is an observer).
    public var isVoter: Bool { voterSet.contains { $0.matches(configuration.localKey) } }

    /// The leader this node knows for its epoch.
    public var leaderID: NodeID? {
        switch state {
        case .leader: configuration.nodeID
        case .resigned: configuration.nodeID
        case .follower(let follower): follower.leaderID
        case .prospective(let prospective): prospective.retained.leaderID
        case .unattached, .voted, .candidate: nil
        }
    }

    /// Whom this node voted for in its epoch.
    public var votedKey: ReplicaKey? {
        switch state {
        case .voted(let voted): voted.votedKey
        case .candidate: configuration.localKey
        case .prospective(let prospective): prospective.retained.votedKey
        case .leader, .resigned: configuration.localKey
        case .unattached, .follower: nil
        }
    }
}
