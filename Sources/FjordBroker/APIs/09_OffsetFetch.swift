// OffsetFetch v0-v9: one group (v0-v7) or a batch of groups (v8+); listed partitions or, with a null topic list
// (v2+), every committed partition of the group. No commit: offset -1. Errors per partition (v0-v1), for the
// request (v2-v7) or per group (v8+). require_stable (v7+): a partition with an offset committed by a transaction
// that has not ended answers UNSTABLE_OFFSET_COMMIT (offset -1), so the client retries. v9 members of a consumer group (KIP-848) must name their current epoch
// (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
import FjordGroups
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Returns a group's committed offsets.
struct OffsetFetchHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...9
    /// Calls the group coordinator, whose lock is held across its appends: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    typealias Partition = OffsetFetchResponse.OffsetFetchResponsePartitions

    func handle(_ request: OffsetFetchRequest, context: RequestContext) -> EventLoopFuture<OffsetFetchResponse> {
        let version = context.apiVersion
        var response = OffsetFetchResponse()
        if version >= 8 {
            response.groups = request.groups.map { group in
                let requested = group.topics.map { topics in topics.map { ($0.name, $0.partitionIndexes) } }
                let memberError = services.groups.validateOffsetFetch(
                    groupID: group.groupID, memberID: group.memberID, memberEpoch: group.memberEpoch)
                guard memberError == .none else {
                    return .init(groupID: group.groupID, topics: [], errorCode: memberError.rawValue)
                }
                let (error, topics) = fetch(
                    group.groupID, requested, requireStable: request.requireStable, context: context)
                return .init(
                    groupID: group.groupID, topics: topics.map { .init(name: $0.name, partitions: $0.partitions) },
                    errorCode: error.rawValue)
            }
        } else {
            let requested = request.topics.map { topics in topics.map { ($0.name, $0.partitionIndexes) } }
            let (error, topics) = fetch(
                request.groupID, requested, requireStable: version >= 7 && request.requireStable, context: context)
            response.errorCode = error.rawValue
            response.topics = topics.map { topic in
                .init(
                    name: topic.name,
                    partitions: topic.partitions.map { partition in
                        .init(
                            partitionIndex: partition.partitionIndex, committedOffset: partition.committedOffset,
                            committedLeaderEpoch: partition.committedLeaderEpoch, metadata: partition.metadata,
                            errorCode: version < 2 && error != .none ? error.rawValue : partition.errorCode
                        )
                    })
            }
        }
        return context.eventLoop.makeSucceededFuture(response)
    }

    /// DESCRIBE on the group is required (GROUP_AUTHORIZATION_FAILED), and on each topic, as Kafka: a requested
    /// topic the principal may not describe is answered TOPIC_AUTHORIZATION_FAILED, and left out of "every topic".
    private func fetch(
        _ groupID: String, _ requested: [(String, [Int32])]?, requireStable: Bool, context: RequestContext
    ) -> (ErrorCode, [(name: String, partitions: [Partition])]) {
        let error = services.checkGroup(context, groupID, .describe)
        let keys = requested.map { topics in
            topics.flatMap { name, partitions in partitions.map { TopicPartition(name, $0) } }
        }
        guard error == .none else {
            // Kafka lists the requested partitions with the error (v0-v1 read it there).
            let failed = (keys ?? []).map { ($0, nil as CommittedOffset?) }
            return (error, Self.grouped(failed))
        }
        let groups = services.groups
        let unstable: (TopicPartition) -> Bool =
            requireStable && groups.hasPendingTransactionalOffsets(groupID: groupID, partition: nil)
            ? { groups.hasPendingTransactionalOffsets(groupID: groupID, partition: $0) }
            : { _ in false }
        guard services.authorizer != nil else {
            return (.none, Self.grouped(groups.fetchOffsets(groupID: groupID, partitions: keys), unstable: unstable))
        }
        var mayDescribe: [String: Bool] = [:]
        let describable = { (topic: String) -> Bool in
            if let known = mayDescribe[topic] { return known }
            let allowed = services.authorize(context, .describe, .topic, topic)
            mayDescribe[topic] = allowed
            return allowed
        }
        let offsets = groups.fetchOffsets(
            groupID: groupID, partitions: keys.map { $0.filter { describable($0.topic) } })
        var result = Self.grouped(offsets.filter { describable($0.0.topic) }, unstable: unstable)
        let refused = (keys ?? []).filter { !describable($0.topic) }
        for (topic, partitions) in Self.grouped(refused.map { ($0, nil) }) {
            result.append(
                (
                    topic,
                    partitions.map {
                        var refusal = $0
                        refusal.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                        return refusal
                    }
                ))
        }
        return (.none, result)
    }

    private static func grouped(
        _ offsets: [(TopicPartition, CommittedOffset?)], unstable: (TopicPartition) -> Bool = { _ in false }
    ) -> [(name: String, partitions: [Partition])] {
        var order = [String]()
        var byTopic = [String: [Partition]]()
        for (key, committed) in offsets {
            if byTopic[key.topic] == nil { order.append(key.topic) }
            if unstable(key) {
                byTopic[key.topic, default: []].append(
                    Partition(
                        partitionIndex: key.partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: "",
                        errorCode: ErrorCode.unstableOffsetCommit.rawValue
                    ))
                continue
            }
            byTopic[key.topic, default: []].append(
                Partition(
                    partitionIndex: key.partition, committedOffset: committed?.offset ?? -1,
                    committedLeaderEpoch: committed?.leaderEpoch ?? -1, metadata: committed?.metadata ?? "",
                    errorCode: 0
                ))
        }
        return order.map { ($0, byTopic[$0]!) }
    }
}
