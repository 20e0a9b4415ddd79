import KafkaProtocol
import NIOCore

// Temporary: the API commit's placeholders, replaced by the role files.
extension RaftNode {
    mutating func recomputeVoterSet() {}
    mutating func restoreRole(from quorumState: QuorumState) {}
    mutating func onTick(into outputs: inout [RaftOutput]) {}
    mutating func onReceive(_ message: RaftMessage, from sender: NodeID, into outputs: inout [RaftOutput]) {}
    mutating func onPersisted(through offset: Int64, into outputs: inout [RaftOutput]) {}
    mutating func onSnapshotTaken(_ snapshot: RaftSnapshot, into outputs: inout [RaftOutput]) {}
    mutating func onResignRequested(into outputs: inout [RaftOutput]) {}

    /// Leader only: appends `records` as one batch of the current epoch.
    public mutating func propose(_ records: [ByteBuffer], now: Int64) -> ProposalResult {
        .notLeader(leaderHint: leaderID)
    }

    /// DescribeQuorum's content as this node knows it.
    public func describeQuorum() -> QuorumDescription {
        QuorumDescription(
            leaderID: leaderID, leaderEpoch: state.epoch, highWatermark: highWatermarkValue, voters: [], observers: [])
    }
}
