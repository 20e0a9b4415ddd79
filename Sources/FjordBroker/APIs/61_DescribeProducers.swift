// DescribeProducers v0: the producers a partition leader remembers (idempotent and transactional): producer id,
// epoch, last sequence and timestamp, coordinator epoch, and the first offset of an open transaction — what
// `kafka-transactions.sh describe-producers` shows to find a hanging transaction. NOT_LEADER_OR_FOLLOWER for
// partitions this node does not lead, UNKNOWN_TOPIC_OR_PARTITION for ones that do not exist.
import FjordSecurity
import FjordStorage
import KafkaProtocol
import NIOCore

struct DescribeProducersHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    let services: BrokerServices

    func handle(_ request: DescribeProducersRequest, context: RequestContext) -> EventLoopFuture<
        DescribeProducersResponse
    > {
        var response = DescribeProducersResponse()
        response.topics = request.topics.map { topic in
            .init(
                name: topic.name,
                partitions: topic.partitionIndexes.map { index in
                    // READ on the topic, as Kafka checks it.
                    guard services.authorize(context, .read, .topic, topic.name) else {
                        return .init(
                            partitionIndex: index, errorCode: ErrorCode.topicAuthorizationFailed.rawValue,
                            errorMessage: nil, activeProducers: [])
                    }
                    guard let replica = services.replicas.replica(for: TopicPartition(topic.name, index)) else {
                        return .init(
                            partitionIndex: index, errorCode: ErrorCode.unknownTopicOrPartition.rawValue,
                            errorMessage: nil, activeProducers: [])
                    }
                    guard replica.isLeader else {
                        return .init(
                            partitionIndex: index, errorCode: ErrorCode.notLeaderOrFollower.rawValue, errorMessage: nil,
                            activeProducers: [])
                    }
                    return .init(
                        partitionIndex: index, errorCode: 0, errorMessage: nil,
                        activeProducers: replica.activeProducers().map { producer in
                            .init(
                                producerID: producer.producerID, producerEpoch: Int32(producer.epoch),
                                lastSequence: producer.lastSequence,
                                lastTimestamp: producer.lastTimestamp, coordinatorEpoch: producer.coordinatorEpoch,
                                currentTxnStartOffset: producer.currentTxnStartOffset
                            )
                        })
                })
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
