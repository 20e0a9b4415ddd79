// ConsumerGroupDescribe v0 (KIP-848): state, epochs, assignor and members (subscriptions, current and target
// assignments with topic names). GROUP_ID_NOT_FOUND for an unknown id or a classic group;
// authorized_operations is not computed (Int32.min).
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Describes KIP-848 consumer groups.
struct ConsumerGroupDescribeHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: ConsumerGroupDescribeRequest, context: RequestContext) -> EventLoopFuture<
        ConsumerGroupDescribeResponse
    > {
        var served = [String]()
        var failed = [String: ErrorCode]()
        for groupID in request.groupIDs {
            let error = groupID.isEmpty ? ErrorCode.invalidGroupID : services.checkGroup(context, groupID, .describe)
            if error == .none { served.append(groupID) } else { failed[groupID] = error }
        }
        var described = [String: ConsumerGroupDescribeResponse.DescribedGroup]()
        for group in services.groups.describeConsumerGroups(served) { described[group.groupID] = group }
        var response = ConsumerGroupDescribeResponse()
        response.groups = request.groupIDs.map { groupID in
            if let error = failed[groupID] { return .init(errorCode: error.rawValue, groupID: groupID) }
            var group = described[groupID]!
            if request.includeAuthorizedOperations {
                group.authorizedOperations = services.authorizedOperations(context, .group, groupID)
            }
            return group
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
