// SyncGroup v0-v5: the leader's assignments make the group stable; every member waits for its own. Protocol type
// and name checked (v5+, INCONSISTENT_GROUP_PROTOCOL); ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
// REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID.
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Distributes the leader's assignment to the members.
struct SyncGroupHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...5
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: SyncGroupRequest, context: RequestContext) -> EventLoopFuture<SyncGroupResponse> {
        let error = services.checkGroup(context, request.groupID)
        guard error == .none else {
            return context.eventLoop.makeSucceededFuture(SyncGroupResponse(errorCode: error.rawValue))
        }
        let promise = context.eventLoop.makePromise(of: SyncGroupResponse.self)
        services.groups.sync(request, promise: promise)
        return promise.futureResult
    }
}
