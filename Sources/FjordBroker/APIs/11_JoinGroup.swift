// JoinGroup v0-v9: MEMBER_ID_REQUIRED for new dynamic members (v4+, KIP-394), static membership (v5+, KIP-345,
// FENCED_INSTANCE_ID), protocol type/name in the answer (v7+), skip_assignment for a static leader (v9). The answer
// waits for the rebalance to complete (GroupCoordinator promise).
import FjordGroups
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Adds a member to a group, or rejoins one, and answers when the group's next generation is formed.
struct JoinGroupHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...9
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: JoinGroupRequest, context: RequestContext) -> EventLoopFuture<JoinGroupResponse> {
        let coordinator = services.groups
        let error = services.checkGroup(context, request.groupID)
        guard error == .none else {
            return context.eventLoop.makeSucceededFuture(
                JoinGroupResponse(errorCode: error.rawValue, generationID: -1, memberID: request.memberID))
        }
        let promise = context.eventLoop.makePromise(of: JoinGroupResponse.self)
        coordinator.join(
            request, clientID: context.header.clientID ?? "",
            clientHost: GroupCoordinator.clientHost(peer: context.peer),
            version: context.apiVersion, promise: promise
        )
        return promise.futureResult
    }
}
