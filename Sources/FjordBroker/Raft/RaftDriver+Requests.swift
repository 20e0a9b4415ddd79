import FjordRaft
import KafkaProtocol
import NIOCore

/// The driver's asynchronous front: what handlers and the metadata service ask of the core, answered on the
/// caller's event loop.
extension RaftDriver {
    /// Gives a request received on the controller listener to the core; completes with its answer (the sender's
    /// correlation id restored), or nil when the core gave none within `inboundAnswerTimeoutMs` or stopped.
    func ask(_ message: RaftMessage, from sender: NodeID, on eventLoop: any EventLoop) -> EventLoopFuture<
        RaftMessage?
    > {
        let promise = eventLoop.makePromise(of: RaftMessage?.self)
        enqueue(.request(message, from: sender, reply: promise))
        return promise.futureResult
    }

    /// The shape of the controller listener's Raft RPC handlers: `message` (the wire request, translated) goes to the
    /// core, and its answer comes back through `translate` (nil for an answer of another kind); no answer within
    /// `inboundAnswerTimeoutMs` is `timedOut` (REQUEST_TIMED_OUT).
    func answer<Response: Sendable>(
        _ message: RaftMessage, from sender: NodeID, on eventLoop: any EventLoop,
        translate: @escaping @Sendable (RaftMessage) -> Response?, timedOut: @escaping @Sendable () -> Response
    ) -> EventLoopFuture<Response> {
        ask(message, from: sender, on: eventLoop).map { answer in answer.flatMap(translate) ?? timedOut() }
    }

    /// Proposes records as one batch; completes with the offset of the last one once they are committed and
    /// applied to the metadata image, or fails with `RaftDriverError` (`.notController` when this node does not
    /// lead, or lost the lead before they committed).
    func propose(_ records: [ByteBuffer], on eventLoop: any EventLoop) -> EventLoopFuture<Int64> {
        let promise = eventLoop.makePromise(of: Int64.self)
        enqueue(.propose(records, reply: promise))
        return promise.futureResult
    }

    /// DescribeQuorum's content as this node knows it.
    func describe(on eventLoop: any EventLoop) -> EventLoopFuture<QuorumDescription> {
        let promise = eventLoop.makePromise(of: QuorumDescription.self)
        enqueue(.describe(promise))
        return promise.futureResult
    }
}
