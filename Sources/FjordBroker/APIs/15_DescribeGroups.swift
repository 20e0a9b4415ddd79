// DescribeGroups v0-v5: state, protocol type, chosen protocol and members (with metadata and assignment when
// stable); an unknown group is reported Dead. authorized_operations (v3+) is not computed (Int32.min).
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Describes groups and their members.
struct DescribeGroupsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...5
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: DescribeGroupsRequest, context: RequestContext) -> EventLoopFuture<DescribeGroupsResponse> {
        var response = DescribeGroupsResponse()
        response.groups = request.groups.map { groupID in
            let error = services.checkGroup(context, groupID, .describe)
            guard error == .none else {
                return .init(
                    errorCode: error.rawValue, groupID: groupID, groupState: "", protocolType: "", protocolData: "")
            }
            var described = services.groups.describe(groupID: groupID)
            described.authorizedOperations =
                context.apiVersion >= 3 && request.includeAuthorizedOperations
                ? services.authorizedOperations(context, .group, groupID) : Int32.min
            return described
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
