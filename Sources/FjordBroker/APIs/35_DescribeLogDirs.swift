// DescribeLogDirs v1-v4: each data directory with the partitions it holds (size, and the offset lag as Kafka
// computes it: how far the replica's log end is behind the high watermark it knows — 0 on a leader, the records a
// follower has yet to fetch), and from v4 the directory's total and usable bytes.
import FjordSecurity
import FjordStorage
import Glibc
import KafkaProtocol
import NIOCore

struct DescribeLogDirsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 1...4
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: DescribeLogDirsRequest, context: RequestContext) -> EventLoopFuture<DescribeLogDirsResponse>
    {
        let services = self.services
        // DESCRIBE on the cluster, as Kafka checks it.
        guard services.authorize(context, .describe, .cluster, AclResourceType.clusterName) else {
            return context.eventLoop.makeSucceededFuture(
                DescribeLogDirsResponse(errorCode: ErrorCode.clusterAuthorizationFailed.rawValue))
        }
        return context.eventLoop.makeCompletedFuture {
            let wanted: Set<TopicPartition>? = request.topics.map { topics in
                Set(topics.flatMap { topic in topic.partitions.map { TopicPartition(topic.topic, $0) } })
            }
            let replicas = services.replicas.allReplicas
            let results = services.replicas.logManager.dataDirectories.map {
                directory -> DescribeLogDirsResponse.DescribeLogDirsResult in
                var byTopic = [String: [DescribeLogDirsResponse.DescribeLogDirsPartition]]()
                for (topicPartition, replica) in replicas where replica.log.directory.hasPrefix(directory + "/") {
                    if let wanted, !wanted.contains(topicPartition) { continue }
                    byTopic[topicPartition.topic, default: []].append(
                        .init(
                            partitionIndex: topicPartition.partition, partitionSize: replica.log.sizeInBytes,
                            offsetLag: max(replica.highWatermark - replica.log.logEndOffset, 0), isFutureKey: false
                        ))
                }
                var stats = statvfs()
                let hasStats = statvfs(directory, &stats) == 0
                return .init(
                    errorCode: 0, logDir: directory,
                    topics: byTopic.keys.sorted().map {
                        .init(name: $0, partitions: byTopic[$0]!.sorted { $0.partitionIndex < $1.partitionIndex })
                    },
                    totalBytes: hasStats ? Int64(stats.f_blocks) * Int64(stats.f_frsize) : -1,
                    usableBytes: hasStats ? Int64(stats.f_bavail) * Int64(stats.f_frsize) : -1
                )
            }
            return DescribeLogDirsResponse(errorCode: 0, results: results)
        }
    }
}
