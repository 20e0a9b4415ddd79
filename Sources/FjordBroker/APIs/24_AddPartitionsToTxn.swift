// AddPartitionsToTxn v0-v3 (the client versions; v4+ is broker-to-broker verification, which a single node does
// not need): adds partitions to a transaction before the producer writes to them. Per-partition errors:
// UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist and OPERATION_NOT_ATTEMPTED for the rest of such a
// request; otherwise the transaction's answer for all (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED from v2 —
// INVALID_PRODUCER_EPOCH before —, CONCURRENT_TRANSACTIONS while the previous transaction is ending).
import FjordGroups
import FjordSecurity
import KafkaProtocol
import NIOCore

struct AddPartitionsToTxnHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...3
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AddPartitionsToTxnRequest, context: RequestContext) -> EventLoopFuture<
        AddPartitionsToTxnResponse
    > {
        let version = context.apiVersion
        let transactions = services.transactions
        let partitions = request.v3AndBelowTopics.flatMap { topic in
            topic.partitions.map { TopicPartition(topic.name, $0) }
        }
        // Kafka's checks: WRITE on the transactional id (every partition refused), then WRITE on each topic — a
        // refused topic's partitions TOPIC_AUTHORIZATION_FAILED and the others OPERATION_NOT_ATTEMPTED, nothing
        // added.
        let refusal: [TopicPartition: ErrorCode]? = {
            guard services.authorizer != nil else { return nil }
            guard services.authorize(context, .write, .transactionalID, request.v3AndBelowTransactionalID) else {
                return Dictionary(
                    partitions.map { ($0, .transactionalIDAuthorizationFailed) }, uniquingKeysWith: { a, _ in a })
            }
            let refused = Set(
                request.v3AndBelowTopics.map(\.name).filter { !services.authorize(context, .write, .topic, $0) })
            guard !refused.isEmpty else { return nil }
            return Dictionary(
                partitions.map {
                    ($0, refused.contains($0.topic) ? .topicAuthorizationFailed : .operationNotAttempted)
                },
                uniquingKeysWith: { a, _ in a })
        }()
        return context.eventLoop.makeCompletedFuture {
            let errors =
                refusal
                ?? transactions.addPartitions(
                    transactionalID: request.v3AndBelowTransactionalID, producerID: request.v3AndBelowProducerID,
                    producerEpoch: request.v3AndBelowProducerEpoch, partitions: partitions
                )
            var response = AddPartitionsToTxnResponse()
            response.resultsByTopicV3AndBelow = request.v3AndBelowTopics.map { topic in
                .init(
                    name: topic.name,
                    resultsByPartition: topic.partitions.map { index in
                        let error = errors[TopicPartition(topic.name, index)] ?? .none
                        return .init(
                            partitionIndex: index,
                            partitionErrorCode: error.fencedError(supportsProducerFenced: version >= 2).rawValue)
                    })
            }
            return response
        }
    }
}
