// Produce v3-v11. One record batch (v2) per partition; acks 0 (no response; the connection closes when a partition
// refuses the records, as Kafka closes it), 1 and -1 (= all in-sync replicas,
// NOT_ENOUGH_REPLICAS below min.insync.replicas); per-partition errors; LogAppendTime stamped by the log.
// Unknown topics answer UNKNOWN_TOPIC_OR_PARTITION and, with auto.create.topics.enable, are created for the retry.
// Transactional batches (with a transactional id) begin or continue their producer's transaction in the partition,
// once the transaction coordinator confirms that the partition is in the producer's open transaction (KIP-890
// part 1, `transaction.partition.verification.enable`): otherwise INVALID_TXN_STATE ("Partition was not added to
// the transaction"), or TRANSACTION_ABORTABLE from v11, so a late or stray write cannot open a transaction that
// nobody will ever end. A partition another broker leads answers NOT_LEADER_OR_FOLLOWER, with (v10+) its current
// leader and that leader's endpoint (KIP-951).
import FjordController
import FjordGroups
import FjordSecurity
import FjordStorage
import KafkaProtocol
import KafkaRecords
import NIOCore

/// Appends produced batches to the partitions this broker leads.
struct ProduceHandler: APIHandler {
    let versions: ClosedRange<Int16> = 3...11
    /// Appends to the partition logs: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func respond(to request: ProduceRequest, context: RequestContext) -> EventLoopFuture<ResponseBody?> {
        var waits = [DelayedProduce.Wait]()
        var response = produce(request, context: context, waits: &waits)
        // A client over its producer_byte_rate quota is told how long to wait, and not read from for that long.
        let bytes = request.topicData.reduce(0) { sum, topic in
            topic.partitionData.reduce(sum) { $0 + ($1.records?.readableBytes ?? 0) }
        }
        let throttle = services.quotas.record(
            .produce, bytes: bytes, principal: context.principal, clientID: context.header.clientID ?? "",
            now: services.clock.nowMilliseconds(), throttle: context.throttle)
        response.throttleTimeMs = Int32(clamping: throttle)
        // acks=0: the client expects no answer at all — unless a partition refused its records: then, as Kafka
        // does, the connection closes, which is how the producer learns to refresh its metadata.
        guard request.acks != 0 else {
            let refused = response.responses.flatMap { topic in
                topic.partitionResponses.filter { $0.errorCode != ErrorCode.none.rawValue }.map {
                    "\(topic.name)-\($0.index): \(ErrorCode(rawValue: $0.errorCode))"
                }
            }
            guard refused.isEmpty else {
                return context.eventLoop.makeFailedFuture(
                    ClosingAnswer("a produce with acks=0 failed: \(refused.joined(separator: ", "))"))
            }
            return context.eventLoop.makeSucceededFuture(nil)
        }
        let version = context.apiVersion
        // acks=all: answered once every in-sync replica has the records (at once with no follower in the ISR).
        return DelayedProduce.complete(response, after: waits, timeoutMs: request.timeoutMs, on: context.eventLoop)
            .map { ResponseBody($0.encoded(version: version)) }
    }

    private func produce(_ request: ProduceRequest, context: RequestContext, waits: inout [DelayedProduce.Wait])
        -> ProduceResponse
    {
        let now = services.clock.nowMilliseconds()
        let image = services.image
        var unknownTopics = [String]()
        var response = ProduceResponse()
        let metrics = services.metrics
        var leaders = PartitionLeaders(
            image: image, liveBrokers: services.metadata.liveBrokers(image, listener: context.listenerName))
        // Kafka's checks, before anything else: WRITE on the transactional id for transactional records (every
        // partition refused), then WRITE on each topic.
        let transactionRefused =
            request.transactionalID.map { !services.authorize(context, .write, .transactionalID, $0) } ?? false
        for topic in request.topicData {
            var topicResponse = ProduceResponse.TopicProduceResponse(name: topic.name)
            var topicMetrics: TopicMetrics?
            let refusal: PartitionAppendOutcome? =
                transactionRefused
                ? .failure(.transactionalIDAuthorizationFailed, "Transactional Id authorization failed.")
                : services.authorize(context, .write, .topic, topic.name)
                    ? nil : .failure(.topicAuthorizationFailed, "Topic authorization failed.")
            for partition in topic.partitionData {
                let outcome =
                    refusal
                    ?? produce(
                        topic: topic.name, partition: partition, acks: request.acks,
                        transactionalID: request.transactionalID,
                        version: context.apiVersion, image: image, now: now, unknownTopics: &unknownTopics
                    )
                var currentLeader = ProduceResponse.LeaderIDAndEpoch()
                if outcome.error == .notLeaderOrFollower, context.apiVersion >= 10,
                    let leader = leaders.current(TopicPartition(topic.name, partition.index))
                {
                    currentLeader = .init(leaderID: leader.leaderID, leaderEpoch: leader.leaderEpoch)
                }
                if outcome.error == .none, let records = partition.records {
                    // Per batch, never per record: the count is read from the (validated) batch header.
                    topicMetrics = topicMetrics ?? metrics.topic(topic.name)
                    topicMetrics!.bytesIn.increment(by: records.readableBytes)
                    topicMetrics!.recordsIn.increment(by: Self.recordCount(of: records))
                } else if outcome.error != .none {
                    metrics.countProduceError(outcome.error)
                }
                if outcome.error == .none, request.acks == -1, let replica = outcome.replica {
                    waits.append(
                        DelayedProduce.Wait(
                            topic: response.responses.count, partition: topicResponse.partitionResponses.count,
                            replica: replica, leaderEpoch: outcome.leaderEpoch, requiredOffset: outcome.nextOffset))
                }
                topicResponse.partitionResponses.append(
                    ProduceResponse.PartitionProduceResponse(
                        index: partition.index, errorCode: outcome.error.rawValue, baseOffset: outcome.baseOffset,
                        logAppendTimeMs: outcome.logAppendTime, logStartOffset: outcome.logStartOffset,
                        recordErrors: outcome.recordErrors.map {
                            .init(batchIndex: $0.batchIndex, batchIndexErrorMessage: $0.message)
                        },
                        errorMessage: outcome.errorMessage, currentLeader: currentLeader
                    ))
            }
            response.responses.append(topicResponse)
        }
        if context.apiVersion >= 10 {
            response.nodeEndpoints = leaders.endpoints.map {
                .init(nodeID: $0.nodeID, host: $0.host, port: $0.port, rack: $0.rack)
            }
        }
        if !unknownTopics.isEmpty, services.configuration.autoCreateTopicsEnable {
            let services = self.services
            let names = Array(Set(unknownTopics))
            _ = services.blocking(on: context.eventLoop) { try services.autoCreate(names) }
        }
        return response
    }

    /// The record count of an appended batch, from its header. The append has already checked that `records` is
    /// exactly one v2 batch.
    static func recordCount(of records: ByteBuffer) -> Int {
        Int(max(0, RecordBatchHeader(parsing: records, at: records.readerIndex)?.recordCount ?? 0))
    }

    /// The producer id and epoch of a transactional (non-control) batch, read from its header; nil for any other
    /// batch. The append validates the rest.
    static func transactionalProducer(of records: ByteBuffer?) -> (producerID: ProducerID, epoch: Int16)? {
        guard let records, let header = RecordBatchHeader(parsing: records, at: records.readerIndex),
            header.isTransactional, !header.isControl
        else { return nil }
        return (header.producerID, header.producerEpoch)
    }

    private func produce(
        topic: String, partition: ProduceRequest.PartitionProduceData, acks: Int16, transactionalID: String?,
        version: Int16,
        image: MetadataImage, now: Int64, unknownTopics: inout [String]
    ) -> PartitionAppendOutcome {
        guard acks == 0 || acks == 1 || acks == -1 else {
            return .failure(.invalidRequiredAcks, "acks must be -1, 0 or 1, not \(acks)")
        }
        // Only the coordinators append to their topics (through `InternalTopic`, never through Produce): a record a
        // client could write there would be replayed into group or transaction state at the next start.
        guard !TopicName.isBrokerOwned(topic) else {
            return .failure(.invalidTopicException, "Cannot append to internal topic \(topic)")
        }
        guard let replica = services.replicas.replica(for: TopicPartition(topic, partition.index)) else {
            guard let known = image.topic(named: topic) else {
                unknownTopics.append(topic)
                return .failure(.unknownTopicOrPartition, "This server does not host this topic-partition.")
            }
            // Placed on another broker: tell the client to go to its leader.
            guard known.partitions.contains(where: { $0.index == partition.index }) else {
                return .failure(.unknownTopicOrPartition, "This server does not host this topic-partition.")
            }
            return .failure(.notLeaderOrFollower, "This broker is not the leader of \(topic)-\(partition.index)")
        }
        let (isrCheck, inSync, required) = replica.checkProduce(acks: acks)
        if isrCheck != .none {
            return .failure(
                isrCheck,
                "The size of the current ISR \(inSync) is insufficient to satisfy the min.isr requirement of \(required) for partition \(replica.topicPartition)"
            )
        }
        if let transactionalID, services.configuration.transactionPartitionVerificationEnable,
            let producer = Self.transactionalProducer(of: partition.records)
        {
            let error = services.transactions.verify(
                transactionalID: transactionalID, producerID: producer.producerID, producerEpoch: producer.epoch,
                partition: TopicPartition(topic, partition.index)
            )
            if error == .invalidTxnState {
                return version >= 11
                    ? .failure(.transactionAbortable, "Partition was not added to the transaction")
                    : .failure(.invalidTxnState, "Partition was not added to the transaction")
            }
            if error != .none {
                return .failure(
                    error, "The transaction coordinator refused producer \(producer.producerID) epoch \(producer.epoch)"
                )
            }
        }
        var outcome = replica.appendAsLeader(partition.records, now: now)
        BrokerServices.finishAppend(outcome, of: replica, threadPool: services.threadPool, logger: services.logger)
        outcome.replica = replica
        return outcome
    }
}
