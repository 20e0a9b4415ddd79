// ConsumerGroupHeartbeat v0-v1 (KIP-848): joins (epoch 0), heartbeats, reconciles and leaves (-1; -2 for a static
// member that will come back) a consumer-protocol group; the answer carries the member's epoch and, when it
// changed, its assignment. Errors: INVALID_REQUEST, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, UNRELEASED_INSTANCE_ID,
// UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, GROUP_MAX_SIZE_REACHED, GROUP_ID_NOT_FOUND (a classic group
// with members), COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR.
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Drives a member of a KIP-848 consumer group.
struct ConsumerGroupHeartbeatHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: ConsumerGroupHeartbeatRequest, context: RequestContext) -> EventLoopFuture<
        ConsumerGroupHeartbeatResponse
    > {
        // READ on the group, then DESCRIBE on every subscribed topic (Kafka's checks).
        var error = request.groupID.isEmpty ? .none : services.checkGroup(context, request.groupID)
        if error == .none,
            let topics = request.subscribedTopicNames,
            topics.contains(where: { !services.authorize(context, .describe, .topic, $0) })
        {
            error = .topicAuthorizationFailed
        }
        guard error == .none else {
            return context.eventLoop.makeSucceededFuture(
                ConsumerGroupHeartbeatResponse(errorCode: error.rawValue, memberEpoch: -1))
        }
        let response = services.groups.consumerHeartbeat(
            request, clientID: context.header.clientID ?? "",
            clientHost: GroupCoordinator.clientHost(peer: context.peer)
        )
        return context.eventLoop.makeSucceededFuture(response)
    }
}
