// TxnOffsetCommit v0-v4: offsets committed as part of a transaction (consume-transform-produce). They are appended
// to the group's __consumer_offsets partition in the producer's transaction and become the group's committed
// offsets only when the transaction commits (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT
// meanwhile). v3+ carry the consumer's member id and generation, checked like OffsetCommit's (KIP-447).
import FjordGroups
import FjordSecurity
import KafkaProtocol
import NIOCore

struct TxnOffsetCommitHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...4
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: TxnOffsetCommitRequest, context: RequestContext) -> EventLoopFuture<TxnOffsetCommitResponse>
    {
        let groups = services.groups
        let entries = request.topics.flatMap { topic in
            topic.partitions.map { partition in
                GroupManager.OffsetCommitEntry(
                    partition: TopicPartition(topic.name, partition.partitionIndex), offset: partition.committedOffset,
                    leaderEpoch: partition.committedLeaderEpoch, metadata: partition.committedMetadata
                )
            }
        }
        // Kafka's checks: WRITE on the transactional id, READ on the group (every partition refused), then READ on
        // each topic (that topic's partitions refused).
        let refusal: ErrorCode? =
            !services.authorize(context, .write, .transactionalID, request.transactionalID)
            ? .transactionalIDAuthorizationFailed
            : !services.authorize(context, .read, .group, request.groupID) ? .groupAuthorizationFailed : nil
        let unreadable =
            services.authorizer == nil
            ? [] : Set(request.topics.map(\.name).filter { !services.authorize(context, .read, .topic, $0) })
        if let refusal {
            return context.eventLoop.makeSucceededFuture(
                TxnOffsetCommitResponse(
                    topics: request.topics.map { topic in
                        .init(
                            name: topic.name,
                            partitions: topic.partitions.map {
                                .init(partitionIndex: $0.partitionIndex, errorCode: refusal.rawValue)
                            })
                    }))
        }
        if !unreadable.isEmpty {
            return context.eventLoop.makeSucceededFuture(
                TxnOffsetCommitResponse(
                    topics: request.topics.map { topic in
                        let error: ErrorCode =
                            unreadable.contains(topic.name) ? .topicAuthorizationFailed : .operationNotAttempted
                        return .init(
                            name: topic.name,
                            partitions: topic.partitions.map {
                                .init(partitionIndex: $0.partitionIndex, errorCode: error.rawValue)
                            })
                    }))
        }
        return context.eventLoop.makeCompletedFuture {
            let error = groups.checkCoordinator(request.groupID)
            let errors =
                error != .none
                ? entries.map { _ in error }
                : groups.transactionalCommit(
                    groupID: request.groupID, producerID: request.producerID, producerEpoch: request.producerEpoch,
                    generationID: request.generationID, memberID: request.memberID, instanceID: request.groupInstanceID,
                    entries: entries
                )
            var index = 0
            var response = TxnOffsetCommitResponse()
            response.topics = request.topics.map { topic in
                .init(
                    name: topic.name,
                    partitions: topic.partitions.map { partition in
                        defer { index += 1 }
                        return .init(
                            partitionIndex: partition.partitionIndex,
                            errorCode: errors[index].fencedError(supportsProducerFenced: false).rawValue)
                    })
            }
            return response
        }
    }
}
