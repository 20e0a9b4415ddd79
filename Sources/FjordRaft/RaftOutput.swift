import KafkaProtocol

/// What a `RaftNode` asks the driver to do. The driver carries them out IN ORDER: a `persistQuorumState` is
/// written and fsynced before anything after it (in particular before the `send` of a vote it records).
public enum RaftOutput: Sendable, Equatable {
    /// Write and fsync `quorum-state` before carrying out anything after it.
    case persistQuorumState(QuorumState)
    /// Append these batches to the log (not yet fsynced: the driver reports `.persisted(through:)` once they are).
    case appendLog([RaftBatch])
    /// Drop everything at and after this offset (a follower's log diverged from its leader's).
    case truncateLog(toEndOffset: Int64)
    /// Replace the state machine and the log with this snapshot; the log restarts at `id.offset`.
    case installSnapshot(RaftSnapshot)
    /// The log before this offset (covered by the latest snapshot) may be deleted.
    case deleteLogPrefix(before: Int64)
    /// Send a message to a peer.
    case send(RaftMessage, to: NodeID)
    /// The high watermark moved: apply these newly committed batches, in order. Each batch is handed over once.
    case commit(highWatermark: Int64, batches: [RaftBatch])
    /// The node changed role, epoch or leader.
    case roleChanged(RaftRoleSummary)
}
