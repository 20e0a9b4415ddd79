// OffsetForLeaderEpoch v2-v4: for each partition, the largest epoch ≤ the one asked and the offset where it ended
// (the log end for the current epoch); leader-epoch fencing with current_leader_epoch.
import FjordSecurity
import FjordStorage
import KafkaProtocol
import NIOCore

struct OffsetForLeaderEpochHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 2...4
    /// Reads the log's leader epochs under its writer lock (held across appends) and may load a cold segment's
    /// time index: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: OffsetForLeaderEpochRequest, context: RequestContext) -> EventLoopFuture<
        OffsetForLeaderEpochResponse
    > {
        let topics = request.topics.map { topic in
            // A consumer's request needs DESCRIBE on the topic, as Kafka checks it (a follower's, CLUSTER_ACTION:
            // inter-broker requests are not checked yet).
            let mayDescribe =
                request.replicaID >= 0 || services.authorize(context, .describe, .topic, topic.topic)
            return OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult(
                topic: topic.topic,
                partitions: topic.partitions.map { partition in
                    var result = OffsetForLeaderEpochResponse.EpochEndOffset(
                        partition: partition.partition, leaderEpoch: -1, endOffset: -1)
                    guard mayDescribe else {
                        result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                        return result
                    }
                    guard let replica = services.replicas.replica(for: TopicPartition(topic.topic, partition.partition))
                    else {
                        result.errorCode =
                            services.notHostedError(TopicPartition(topic.topic, partition.partition)).rawValue
                        return result
                    }
                    let current = replica.leaderEpoch
                    if partition.currentLeaderEpoch >= 0, partition.currentLeaderEpoch != current {
                        result.errorCode =
                            (partition.currentLeaderEpoch < current ? ErrorCode.fencedLeaderEpoch : .unknownLeaderEpoch)
                            .rawValue
                        return result
                    }
                    let end = replica.log.endOffset(forEpoch: partition.leaderEpoch)
                    result.leaderEpoch = end.epoch
                    result.endOffset = end.endOffset
                    return result
                })
        }
        return context.eventLoop.makeSucceededFuture(OffsetForLeaderEpochResponse(topics: topics))
    }
}
