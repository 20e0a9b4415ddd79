// OffsetCommit v0-v9: group-managed commits (generation and member checked: ILLEGAL_GENERATION,
// UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID v7+) and "simple" commits (generation -1) of
// consumers that assign partitions themselves; metadata strings up to offset.metadata.max.bytes
// (OFFSET_METADATA_TOO_LARGE), leader epochs (v6+), UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist.
// Acknowledged only after the records are appended to __consumer_offsets.
import FjordGroups
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Stores a group's committed offsets.
struct OffsetCommitHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...9
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: OffsetCommitRequest, context: RequestContext) -> EventLoopFuture<OffsetCommitResponse> {
        var errors: [ErrorCode]
        let entries = request.topics.flatMap { topic in
            topic.partitions.map { partition in
                GroupManager.OffsetCommitEntry(
                    partition: TopicPartition(topic.name, partition.partitionIndex), offset: partition.committedOffset,
                    leaderEpoch: partition.committedLeaderEpoch, metadata: partition.committedMetadata
                )
            }
        }
        let error = services.checkGroup(context, request.groupID)
        if error != .none {
            errors = entries.map { _ in error }
        } else {
            // READ on each topic (Kafka): the partitions of a topic the principal may not read are refused, the
            // others committed.
            let unreadable = Set(
                request.topics.map(\.name).filter { !services.authorize(context, .read, .topic, $0) })
            let committed = services.groups.commit(
                groupID: request.groupID, generationID: request.generationIDOrMemberEpoch, memberID: request.memberID,
                instanceID: request.groupInstanceID,
                entries: entries.filter { !unreadable.contains($0.partition.topic) }
            )
            var next = committed.makeIterator()
            errors = entries.map { entry in
                unreadable.contains(entry.partition.topic)
                    ? .topicAuthorizationFailed : next.next() ?? .unknownServerError
            }
        }
        var response = OffsetCommitResponse()
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
