import KafkaProtocol

/// What the driver feeds a `RaftNode`. Time moves only by `tick`; every other input happens at the time of the
/// latest tick.
public enum RaftInput: Sendable {
    /// Monotonic milliseconds. Timers (election, fetch, check-quorum, request resends) fire on ticks.
    case tick(now: Int64)
    /// A message from a peer. Anything malformed, stale or unexpected is answered with Kafka's error code or ignored.
    case received(RaftMessage, from: NodeID)
    /// The request with `correlationID` to `node` could not be sent, or its connection failed before an answer
    /// (refused, reset). As Kafka's `RequestManager` treats a failed response: the request is over and `node` is left
    /// alone for `retryBackoffMs`, so an observer asks another voter at once instead of waiting out the request
    /// timeout on a node that is gone. A timeout is not reported this way: the core times requests out itself.
    case requestFailed(to: NodeID, correlationID: Int32)
    /// The log is fsynced up to this end offset (exclusive). Followers fetch again only after this, and the leader
    /// counts only its persisted end towards the high watermark.
    case persisted(through: Int64)
    /// The driver wrote a snapshot of the committed state (`id.offset` <= high watermark).
    case snapshotTaken(RaftSnapshot)
    /// Graceful shutdown: a leader resigns and sends EndQuorumEpoch; other roles ignore it.
    case resign
}
