import FjordRaft
import KafkaProtocol
import NIOCore

/// What is queued for the driver's next round, from any thread.
enum RaftEvent: Sendable {
    /// A response to a request this node sent (from `ControllerPeers`).
    case response(RaftMessage, from: NodeID)
    /// A request this node sent that failed without an answer (from `ControllerPeers`).
    case requestFailed(to: NodeID, correlationID: Int32)
    /// A request received on the controller listener; `reply` gets the core's answer, or nil when the core gave
    /// none in time (the handler then answers REQUEST_TIMED_OUT, so the connection's answers stay in order).
    case request(RaftMessage, from: NodeID, reply: EventLoopPromise<RaftMessage?>)
    /// Metadata records to append as one batch on the leader; `reply` completes once they are committed and
    /// applied to the image (with the offset of the last one), or fails (`RaftDriverError`).
    case propose([ByteBuffer], reply: EventLoopPromise<Int64>)
    /// DescribeQuorum's content.
    case describe(EventLoopPromise<QuorumDescription>)
}
