// LeaveGroup v0-v5: one member by id (v0-v2), a batch of members by id or group.instance.id (v3+, KIP-345) with
// per-member errors (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID). The group rebalances without them.
import FjordGroups
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Removes members from a group.
struct LeaveGroupHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...5
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: LeaveGroupRequest, context: RequestContext) -> EventLoopFuture<LeaveGroupResponse> {
        let version = context.apiVersion
        var response = LeaveGroupResponse()
        let error = services.checkGroup(context, request.groupID)
        guard error == .none else {
            response.errorCode = error.rawValue
            return context.eventLoop.makeSucceededFuture(response)
        }
        let leaving =
            version >= 3
            ? request.members.map { GroupManager.LeavingMember(memberID: $0.memberID, instanceID: $0.groupInstanceID) }
            : [GroupManager.LeavingMember(memberID: request.memberID, instanceID: nil)]
        let errors = services.groups.leave(groupID: request.groupID, members: leaving)
        if version >= 3 {
            response.members = zip(request.members, errors).map { member, error in
                .init(memberID: member.memberID, groupInstanceID: member.groupInstanceID, errorCode: error.rawValue)
            }
        } else {
            response.errorCode = (errors.first ?? .none).rawValue
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
