import KafkaProtocol

/// Transactions as an operator sees them (Kafka's `kafka-transactions.sh`): which transactional ids exist and in what
/// state, what an open transaction spans, and which producers hold a partition's last stable offset back.
extension Admin {
    /// Every transactional id on every broker, filtered by state names ("Ongoing", ...), producer ids, and how long
    /// the transaction has been open (brokers that do not serve ListTransactions v1 ignore the duration).
    public func listTransactions(
        states: [String] = [], producerIDs: [Int64] = [], openLongerThan: Duration? = nil
    ) async throws -> [TransactionDescription] {
        let metadata = try await client.refreshMetadata()
        var listings: [TransactionDescription] = []
        for broker in metadata.brokers.keys.sorted() {
            var request = ListTransactionsRequest()
            request.stateFilters = states
            request.producerIDFilters = producerIDs
            request.durationFilter =
                openLongerThan.map {
                    Int64($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)
                } ?? -1
            let response = try await client.send(request, to: broker)
            if let error = ClientError.kafka(response.errorCode, "ListTransactions failed", broker: broker) {
                throw error
            }
            listings += response.transactionStates.map {
                TransactionDescription(
                    transactionalID: $0.transactionalID, state: $0.transactionState, producerID: $0.producerID,
                    producerEpoch: -1, timeoutMs: 0, startTimeMs: -1, partitions: [], coordinator: broker
                )
            }
        }
        return listings.sorted { $0.transactionalID < $1.transactionalID }
    }

    /// Describes transactional ids at their coordinators: state, producer id and epoch, timeout, and the partitions
    /// of the open transaction.
    public func describeTransactions(_ transactionalIDs: [String]) async -> [String: Result<
        TransactionDescription, ClientError
    >] {
        var results: [String: Result<TransactionDescription, ClientError>] = [:]
        for id in transactionalIDs {
            do {
                let coordinator = try await client.findCoordinator(key: id, keyType: 1)
                let response = try await client.send(
                    DescribeTransactionsRequest(transactionalIDs: [id]), to: coordinator)
                guard let answer = response.transactionStates.first(where: { $0.transactionalID == id }) else {
                    throw ClientError(.protocolViolation, "DescribeTransactions answered no \(id)", isRetriable: true)
                }
                if let error = ClientError.kafka(
                    answer.errorCode, "DescribeTransactions \(id) failed", broker: coordinator)
                {
                    throw error
                }
                results[id] = .success(
                    TransactionDescription(
                        transactionalID: id, state: answer.transactionState, producerID: answer.producerID,
                        producerEpoch: answer.producerEpoch, timeoutMs: answer.transactionTimeoutMs,
                        startTimeMs: answer.transactionStartTimeMs,
                        partitions: answer.topics.flatMap { topic in
                            topic.partitions.map { TopicPartition(topic.topic, $0) }
                        },
                        coordinator: coordinator
                    ))
            } catch {
                results[id] = .failure(KafkaClient.asClientError(error))
            }
        }
        return results
    }

    /// The producers each partition's leader remembers, with the start offset of their open transactions.
    public func describeProducers(_ partitions: [TopicPartition]) async -> [TopicPartition: Result<
        [ProducerState], ClientError
    >] {
        var results: [TopicPartition: Result<[ProducerState], ClientError>] = [:]
        for partition in partitions {
            do {
                let leader = try await client.leader(for: partition)
                var request = DescribeProducersRequest()
                request.topics = [.init(name: partition.topic, partitionIndexes: [partition.partition])]
                let response = try await client.send(request, to: leader)
                guard
                    let answer = response.topics.first(where: { $0.name == partition.topic })?.partitions
                        .first(where: { $0.partitionIndex == partition.partition })
                else {
                    throw ClientError(
                        .protocolViolation, "DescribeProducers answered no \(partition)", isRetriable: true)
                }
                if let error = ClientError.kafka(
                    answer.errorCode, answer.errorMessage ?? "DescribeProducers \(partition) failed", broker: leader,
                    topic: partition.topic, partition: partition.partition)
                {
                    throw error
                }
                results[partition] = .success(
                    answer.activeProducers.map {
                        ProducerState(
                            producerID: $0.producerID, producerEpoch: $0.producerEpoch, lastSequence: $0.lastSequence,
                            lastTimestamp: $0.lastTimestamp, coordinatorEpoch: $0.coordinatorEpoch,
                            currentTransactionStartOffset: $0.currentTxnStartOffset
                        )
                    })
            } catch {
                results[partition] = .failure(KafkaClient.asClientError(error))
            }
        }
        return results
    }

    /// Aborts a producer's open transaction in one partition by writing an ABORT marker there (WriteTxnMarkers to
    /// the partition's leader; Kafka's `Admin.abortTransaction`): the way out of a hanging transaction that holds
    /// read_committed consumers back and that its coordinator no longer knows. Take the producer id, epoch and
    /// coordinator epoch from ``describeProducers(_:)``.
    public func abortTransaction(
        in partition: TopicPartition, producerID: Int64, producerEpoch: Int16, coordinatorEpoch: Int32
    ) async throws {
        let leader = try await client.leader(for: partition)
        var request = WriteTxnMarkersRequest()
        request.markers = [
            .init(
                producerID: producerID, producerEpoch: producerEpoch, transactionResult: false,
                topics: [.init(name: partition.topic, partitionIndexes: [partition.partition])],
                coordinatorEpoch: coordinatorEpoch
            )
        ]
        let response = try await client.send(request, to: leader)
        let code =
            response.markers.first?.topics.first?.partitions.first?.errorCode
            ?? ErrorCode.unknownServerError.rawValue
        if let error = ClientError.kafka(
            code, "aborting producer \(producerID)'s transaction in \(partition) failed", broker: leader,
            topic: partition.topic, partition: partition.partition)
        {
            throw error
        }
    }
}
