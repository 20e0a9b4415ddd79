// DescribeTopicPartitions v0 (KIP-966): topics and their partitions in name order, at most
// response_partition_limit partitions per response, continued from a cursor (topic name + partition index); an
// empty topic list means every topic.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DescribeTopicPartitionsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    let metadata: MetadataPublisher
    /// DESCRIBE on each topic, as Kafka checks it (nil: no authorizer).
    var authorizer: BrokerAuthorizer?

    func handle(_ request: DescribeTopicPartitionsRequest, context: RequestContext) -> EventLoopFuture<
        DescribeTopicPartitionsResponse
    > {
        let image = metadata.image
        let mayDescribe = { (name: String) in authorizer?.authorize(context, .describe, .topic, name) ?? true }
        // Every topic: those the principal may describe; topics asked for by name: the others are refused.
        var names =
            request.topics.isEmpty ? image.topicNames.filter(mayDescribe) : request.topics.map(\.name).sorted()
        if let cursor = request.cursor { names = names.filter { $0 >= cursor.topicName } }
        var remaining = max(1, Int(request.responsePartitionLimit))
        var response = DescribeTopicPartitionsResponse()
        for name in names {
            guard mayDescribe(name) else {
                response.topics.append(
                    .init(errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name, topicID: .zero))
                continue
            }
            guard let topic = image.topic(named: name) else {
                response.topics.append(
                    .init(errorCode: ErrorCode.unknownTopicOrPartition.rawValue, name: name, topicID: .zero))
                continue
            }
            let first = request.cursor.map { $0.topicName == name ? $0.partitionIndex : 0 } ?? 0
            var partitions = [DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponsePartition]()
            for partition in topic.partitions where partition.index >= first {
                guard remaining > 0 else {
                    response.nextCursor = .init(topicName: name, partitionIndex: partition.index)
                    break
                }
                partitions.append(
                    .init(
                        partitionIndex: partition.index, leaderID: partition.leader, leaderEpoch: partition.leaderEpoch,
                        replicaNodes: partition.replicas, isrNodes: partition.inSyncReplicas,
                        eligibleLeaderReplicas: [],
                        lastKnownElr: [], offlineReplicas: []
                    ))
                remaining -= 1
            }
            response.topics.append(
                .init(
                    name: name, topicID: topic.topicID, isInternal: topic.isInternal, partitions: partitions,
                    topicAuthorizedOperations: BrokerAuthorizer.authorizedOperations(
                        authorizer, context, .topic, name)))
            if response.nextCursor != nil { break }
            if remaining == 0, let next = names.first(where: { $0 > name }) {
                response.nextCursor = .init(topicName: next, partitionIndex: 0)
                break
            }
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
