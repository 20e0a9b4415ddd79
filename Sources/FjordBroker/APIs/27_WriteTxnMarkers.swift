// WriteTxnMarkers v0-v1: COMMIT/ABORT markers written into partitions this broker leads. In a cluster a
// transaction coordinator sends it to the leaders of the partitions it does not lead (`TransactionMarkerChannel`)
// and appends the markers of its own partitions directly. It also serves operators: Kafka's Admin.abortTransaction
// (`kafka-transactions.sh abort`, `fjord transaction abort`) ends a hanging transaction with it. Per-partition
// errors: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (another broker holds or leads it),
// INVALID_PRODUCER_EPOCH for an epoch older than the producer's, TRANSACTION_COORDINATOR_FENCED for an older
// coordinator epoch. A marker in __consumer_offsets also commits or drops the producer's pending transactional
// offsets there.
import FjordStorage
import KafkaProtocol
import NIOCore

struct WriteTxnMarkersHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: WriteTxnMarkersRequest, context: RequestContext) -> EventLoopFuture<WriteTxnMarkersResponse>
    {
        let services = self.services
        // Marker appends write to the log: on the thread pool, like the coordinator's own.
        return context.eventLoop.makeCompletedFuture {
            let now = services.clock.nowMilliseconds()
            var response = WriteTxnMarkersResponse()
            response.markers = request.markers.map { marker in
                .init(
                    producerID: marker.producerID,
                    topics: marker.topics.map { topic in
                        .init(
                            name: topic.name,
                            partitions: topic.partitionIndexes.map { index in
                                .init(
                                    partitionIndex: index,
                                    errorCode: write(
                                        marker, topic: topic.name, partition: index, now: now, services: services
                                    ).rawValue)
                            })
                    })
            }
            return response
        }
    }

    private func write(
        _ marker: WriteTxnMarkersRequest.WritableTxnMarker, topic: String, partition: Int32, now: Int64,
        services: BrokerServices
    ) -> ErrorCode {
        guard let replica = services.replicas.replica(for: TopicPartition(topic, partition)) else {
            // Known but held elsewhere: the coordinator looks the leader up again.
            let known = services.image.topic(named: topic)?.partitions.contains { $0.index == partition } ?? false
            return known ? .notLeaderOrFollower : .unknownTopicOrPartition
        }
        let outcome = replica.appendTransactionMarker(
            producerID: marker.producerID, producerEpoch: marker.producerEpoch,
            coordinatorEpoch: marker.coordinatorEpoch,
            commit: marker.transactionResult, now: now
        )
        BrokerServices.finishAppend(outcome, of: replica, threadPool: services.threadPool, logger: services.logger)
        if outcome.error == .none, topic == GroupCoordinator.topicName {
            services.groups.completeTransaction(
                producerID: marker.producerID, partition: partition, commit: marker.transactionResult)
        }
        return outcome.error
    }
}
