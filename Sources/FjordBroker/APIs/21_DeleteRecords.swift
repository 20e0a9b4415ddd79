// DeleteRecords v0-v2: move a partition's log start offset up to the given offset (-1: the high watermark);
// OFFSET_OUT_OF_RANGE past the high watermark. Whole segments below the new start are deleted.
import FjordController
import FjordSecurity
import FjordStorage
import KafkaProtocol
import NIOCore

struct DeleteRecordsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...2
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: DeleteRecordsRequest, context: RequestContext) -> EventLoopFuture<DeleteRecordsResponse> {
        let services = self.services
        return context.eventLoop.makeCompletedFuture {
            let topics = request.topics.map { topic in
                // DELETE on the topic, as Kafka checks it.
                let mayDelete = services.authorize(context, .delete, .topic, topic.name)
                return DeleteRecordsResponse.DeleteRecordsTopicResult(
                    name: topic.name,
                    partitions: topic.partitions.map { partition in
                        var result = DeleteRecordsResponse.DeleteRecordsPartitionResult(
                            partitionIndex: partition.partitionIndex, lowWatermark: -1)
                        guard mayDelete else {
                            result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                            return result
                        }
                        // The coordinators' state lives in their topics' logs: moving the log start would lose it.
                        guard !TopicName.isBrokerOwned(topic.name) else {
                            result.errorCode = ErrorCode.invalidTopicException.rawValue
                            return result
                        }
                        guard
                            let replica = services.replicas.replica(
                                for: TopicPartition(topic.name, partition.partitionIndex))
                        else {
                            result.errorCode =
                                services.notHostedError(TopicPartition(topic.name, partition.partitionIndex)).rawValue
                            return result
                        }
                        guard replica.isLeader else {
                            result.errorCode = ErrorCode.notLeaderOrFollower.rawValue
                            return result
                        }
                        let highWatermark = replica.highWatermark
                        let target = partition.offset == -1 ? highWatermark : partition.offset
                        guard target >= 0, target <= highWatermark else {
                            result.errorCode = ErrorCode.offsetOutOfRange.rawValue
                            return result
                        }
                        do {
                            result.lowWatermark = try replica.log.advanceLogStartOffset(to: target)
                        } catch {
                            result.errorCode = ErrorCode.kafkaStorageError.rawValue
                        }
                        return result
                    })
            }
            try? services.replicas.logManager.checkpoint()
            return DeleteRecordsResponse(topics: topics)
        }
    }
}
