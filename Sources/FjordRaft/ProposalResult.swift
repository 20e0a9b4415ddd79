import KafkaProtocol

/// The answer to `RaftNode.propose(_:now:)`.
public enum ProposalResult: Sendable, Equatable {
    /// Appended as one batch of `epoch` at offsets `baseOffset...lastOffset`; its `.appendLog` output comes out of
    /// the next `step`, and the batch is committed once the high watermark passes `lastOffset`.
    case accepted(baseOffset: Int64, lastOffset: Int64, epoch: Int32)
    /// This node does not lead; `leaderHint` is the leader it knows of, if any.
    case notLeader(leaderHint: NodeID?)
    /// This node leads but its epoch's LeaderChange record has not committed yet (or it is resigning): retry later.
    case notReady
    /// Nothing to propose (no records), or the batch is larger than `fetchMaxBytes` and could never be fetched.
    case invalid
}
