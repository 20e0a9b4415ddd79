import KafkaProtocol
import NIOCore

/// What the metadata quorum's committed log is applied to (the broker's `MetadataService`: image, publisher,
/// replicas). The driver calls it from its own thread, one call at a time, in log order; every call may block.
protocol RaftStateMachine: Sendable {
    /// Applies committed data records (framed metadata records) in order; `offsets[i]` is `records[i]`'s offset.
    func applyCommitted(_ records: [ByteBuffer], offsets: [Int64]) throws
    /// Replaces the whole state with a snapshot's records, covering the log before `endOffset`.
    func replace(withSnapshot records: [ByteBuffer], endOffset: Int64) throws
    /// The records of the current (committed, applied) state, for a snapshot.
    func snapshotRecords() -> [ByteBuffer]
    /// The state now holds everything committed that this node had on disk at start-up (and at least the high
    /// watermark it learned): before this, it may lag the log, and nothing may be deleted because of it.
    func caughtUp() throws
}
