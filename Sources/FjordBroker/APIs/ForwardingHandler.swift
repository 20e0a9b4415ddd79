// Not an API of its own: wraps the admin APIs a broker listener serves (CreateTopics, DeleteTopics, CreatePartitions,
// AlterConfigs, IncrementalAlterConfigs) on a node of a metadata quorum.
import FjordRaft
import KafkaProtocol
import NIOCore
import NIOPosix

/// An admin request that changes metadata, answered by the active controller: handled here when this node leads
/// the quorum, otherwise forwarded as is (same API and version) over the controller connection to the leader's
/// controller listener, whose answer is relayed — Kafka 4's forwarding, without the Envelope (the nodes trust
/// each other's controller listeners; there is no principal to carry yet). While no leader is known the request
/// waits for one (`leaderWait`), then is handled here (and refused NOT_CONTROLLER by the metadata service).
struct ForwardingHandler<Inner: TypedAPIHandler>: TypedAPIHandler {
    typealias Request = Inner.Request
    let inner: Inner
    let quorum: QuorumRuntime
    /// Where an inner handler that blocks (`.ioThreadPool`: a metadata command waits for its commit) runs when this
    /// handler comes back to it from a retry scheduled on the event loop. Run there, the command blocked the loop,
    /// and with it the quorum traffic and the commit callback its wait needed: a new controller stalled every admin
    /// request for the full commit timeout (fresh-clone runs 46 and 50).
    let threadPool: NIOThreadPool
    /// How long a request waits for an elected leader before it is handled (and refused) here.
    var leaderWait: TimeAmount = .seconds(5)
    /// How long the leader may take to answer a forwarded request.
    var forwardTimeout: TimeAmount = .seconds(60)

    var versions: ClosedRange<Int16> { inner.versions }
    var execution: HandlerExecution { inner.execution }

    func handle(_ request: Request, context: RequestContext) -> EventLoopFuture<Request.Response> {
        let deadline = NIODeadline.now() + leaderWait
        return route(request, context: context, deadline: deadline)
    }

    private func route(_ request: Request, context: RequestContext, deadline: NIODeadline) -> EventLoopFuture<
        Request.Response
    > {
        let status = quorum.driver.status
        if status.isLeader { return handleHere(request, context: context) }
        let localID = quorum.driver.configuration.raft.nodeID
        if let leader = status.role.leaderID, leader != localID, quorum.peers.knows(leader) {
            // A forward that fails (the leader died, or was cut off, mid-request) is routed again — to a newer
            // leader, or, past the deadline, refused here NOT_CONTROLLER — so the client gets a retriable error
            // instead of a closed connection.
            return quorum.peers.forward(request, version: context.apiVersion, to: leader, timeout: forwardTimeout)
                .hop(to: context.eventLoop)
                .flatMapError { _ in
                    context.eventLoop.flatScheduleTask(in: .milliseconds(50)) {
                        route(request, context: context, deadline: deadline)
                    }.futureResult
                }
        }
        guard NIODeadline.now() < deadline else { return handleHere(request, context: context) }
        return context.eventLoop.flatScheduleTask(in: .milliseconds(50)) {
            route(request, context: context, deadline: deadline)
        }.futureResult
    }

    /// The inner handler, where the registry would run it: a blocking one on the thread pool, never on the event loop
    /// a retry brought this handler to.
    private func handleHere(_ request: Request, context: RequestContext) -> EventLoopFuture<Request.Response> {
        guard case .ioThreadPool = inner.execution, context.eventLoop.inEventLoop else {
            return inner.handle(request, context: context)
        }
        return threadPool.runIfActive(eventLoop: context.eventLoop) { inner.handle(request, context: context) }
            .flatMap { $0 }
    }
}
