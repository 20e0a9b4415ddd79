// DeleteGroups v0-v2: deletes empty groups and their committed offsets (tombstones in __consumer_offsets);
// NON_EMPTY_GROUP for groups with members, GROUP_ID_NOT_FOUND for unknown ones.
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Deletes empty groups.
struct DeleteGroupsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...2
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: DeleteGroupsRequest, context: RequestContext) -> EventLoopFuture<DeleteGroupsResponse> {
        let coordinator = services.groups
        // DELETE on the group (GROUP_AUTHORIZATION_FAILED), then this broker must coordinate it.
        let checks = Dictionary(
            request.groupsNames.map { ($0, services.checkGroup(context, $0, .delete)) }, uniquingKeysWith: { a, _ in a }
        )
        let served = request.groupsNames.filter { checks[$0] == ErrorCode.none }
        let errors = Dictionary(zip(served, coordinator.deleteGroups(served)), uniquingKeysWith: { first, _ in first })
        var response = DeleteGroupsResponse()
        response.results = request.groupsNames.map { groupID in
            .init(groupID: groupID, errorCode: (errors[groupID] ?? checks[groupID] ?? .none).rawValue)
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
