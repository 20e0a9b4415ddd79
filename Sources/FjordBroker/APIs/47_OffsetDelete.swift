// OffsetDelete v0: deletes a group's committed offsets of topics its members do not subscribe to
// (GROUP_SUBSCRIBED_TO_TOPIC otherwise); GROUP_ID_NOT_FOUND for an unknown group.
import FjordGroups
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Deletes committed offsets.
struct OffsetDeleteHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: OffsetDeleteRequest, context: RequestContext) -> EventLoopFuture<OffsetDeleteResponse> {
        var response = OffsetDeleteResponse()
        let error = services.checkGroup(context, request.groupID, .delete)
        guard error == .none else {
            response.errorCode = error.rawValue
            return context.eventLoop.makeSucceededFuture(response)
        }
        let keys = request.topics.flatMap { topic in
            topic.partitions.map { TopicPartition(topic.name, $0.partitionIndex) }
        }
        let (groupError, errors) = services.groups.deleteOffsets(groupID: request.groupID, partitions: keys)
        response.errorCode = groupError.rawValue
        guard groupError == .none else { return context.eventLoop.makeSucceededFuture(response) }
        var index = 0
        response.topics = request.topics.map { topic in
            .init(
                name: topic.name,
                partitions: topic.partitions.map { partition in
                    defer { index += 1 }
                    return .init(partitionIndex: partition.partitionIndex, errorCode: errors[index].rawValue)
                })
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
