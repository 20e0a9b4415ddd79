// Heartbeat v0-v4: keeps a member's session; REBALANCE_IN_PROGRESS asks it to rejoin; UNKNOWN_MEMBER_ID,
// ILLEGAL_GENERATION, FENCED_INSTANCE_ID (v3+ static members).
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Keeps a member alive and tells it when to rejoin.
struct HeartbeatHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...4
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: HeartbeatRequest, context: RequestContext) -> EventLoopFuture<HeartbeatResponse> {
        var error = services.checkGroup(context, request.groupID)
        if error == .none { error = services.groups.heartbeat(request) }
        return context.eventLoop.makeSucceededFuture(HeartbeatResponse(errorCode: error.rawValue))
    }
}
