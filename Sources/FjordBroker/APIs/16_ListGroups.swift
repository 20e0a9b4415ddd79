// ListGroups v0-v5: every group this broker coordinates, with its state (v4+) and type (v5+: "classic" for the
// JoinGroup protocol, "consumer" for KIP-848 groups); states filter (v4+, case-insensitive) and types filter (v5+).
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Lists the groups this broker coordinates.
struct ListGroupsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...5
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: ListGroupsRequest, context: RequestContext) -> EventLoopFuture<ListGroupsResponse> {
        var response = ListGroupsResponse()
        // Every group with DESCRIBE on the cluster, else those the principal may describe (Kafka).
        let everyGroup =
            services.authorizer == nil || services.authorize(context, .describe, .cluster, AclResourceType.clusterName)
        response.groups = services.groups.listGroups(
            statesFilter: request.statesFilter, typesFilter: request.typesFilter
        ).filter { everyGroup || services.authorize(context, .describe, .group, $0.groupID) }.map { group in
            .init(
                groupID: group.groupID, protocolType: group.protocolType, groupState: group.state,
                groupType: group.groupType)
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
