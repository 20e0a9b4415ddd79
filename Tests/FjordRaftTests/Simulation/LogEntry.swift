import FjordRaft

/// One record of the metadata log with the epoch of the batch that holds it: what the committed-log invariants
/// compare between nodes (the offset is the position it is stored at).
struct LogEntry: Equatable, CustomStringConvertible {
    var epoch: Int32
    var record: RaftRecord

    var description: String {
        switch record {
        case .data(let bytes):
            if let proposal = ClientPayload(bytes) { return "epoch \(epoch) \(proposal)" }
            return "epoch \(epoch) data(\(bytes.readableBytes) bytes)"
        case .leaderChange(let message): return "epoch \(epoch) LeaderChange(leader \(message.leaderID))"
        case .voters: return "epoch \(epoch) Voters"
        case .kraftVersion: return "epoch \(epoch) KRaftVersion"
        }
    }
}

extension RaftBatch {
    /// The entry at `offset`, which the batch must hold.
    func entry(at offset: Int64) -> LogEntry {
        LogEntry(epoch: epoch, record: records[Int(offset - baseOffset)])
    }
}
