import KafkaProtocol

/// Transactions (KIP-98, as Kafka's producer runs them against transaction version 1): records sent between
/// `beginTransaction()` and `commitTransaction()` — across any partitions, with the consumer offsets of
/// `sendOffsetsToTransaction` — become visible to read_committed consumers together, or not at all after
/// `abortTransaction()`. The producer registers each partition with the transaction coordinator before its first
/// batch goes out (AddPartitionsToTxn), so the coordinator knows where to write the COMMIT or ABORT markers.
///
/// ```swift
/// var configuration = ProducerConfiguration(client: client)
/// configuration.transactionalID = "orders-enricher"
/// let producer = Producer(configuration: configuration)
/// try await producer.initTransactions()
/// try await producer.beginTransaction()
/// try await producer.sendAndForget(topic: "enriched", value: value)
/// try await producer.sendOffsetsToTransaction([partition: offset + 1], group: await consumer.groupMetadata())
/// try await producer.commitTransaction()
/// ```
extension Producer {
    /// Gets the producer id and epoch for `transactionalID` (InitProducerId). This fences every earlier producer with
    /// the same id and aborts a transaction it left open. Call once, before the first transaction.
    public func initTransactions() async throws {
        let transactionalID = try requireTransactional()
        guard configuration.idempotent else {
            throw ClientError(
                .invalidArgument, "a transactional producer needs idempotence (enableIdempotence and acks = .all)",
                isRetriable: false)
        }
        guard !transactionsInitialized else {
            throw ClientError(.transaction, "initTransactions() was already called", isRetriable: false)
        }
        var request = InitProducerIDRequest()
        request.transactionalID = transactionalID
        request.transactionTimeoutMs = configuration.transactionTimeout.millisecondsInt32
        request.producerID = -1
        request.producerEpoch = -1
        let response = try await sendToTransactionCoordinator(request) { $0.errorCode }
        producerID = response.producerID
        producerEpoch = response.producerEpoch
        nextSequence.removeAll()
        transactionsInitialized = true
        logger.debug("transactional producer id", metadata: ["id": "\(producerID)", "epoch": "\(producerEpoch)"])
    }

    /// Opens a transaction: `send` takes records until it is committed or aborted.
    public func beginTransaction() throws {
        _ = try requireTransactional()
        guard transactionsInitialized else {
            throw ClientError(.transaction, "call initTransactions() first", isRetriable: false)
        }
        guard !intake.withLockedValue({ $0.transactionOpen }) else {
            throw ClientError(.transaction, "a transaction is already open", isRetriable: false)
        }
        transactionPartitions = []
        transactionOffsetsAdded = false
        transactionFailure = nil
        intake.withLockedValue { $0.transactionOpen = true }
    }

    /// Sends what is buffered, then commits (EndTxn): the records and offsets of the transaction become visible.
    /// If a record of the transaction failed, nothing is committed: the error says so and the transaction must be
    /// aborted.
    public func commitTransaction() async throws {
        try requireOpenTransaction()
        await flush()
        if let failure = transactionFailure {
            throw ClientError(
                .transaction, "the transaction cannot commit (a record failed: \(failure.message)); abort it",
                kafkaError: failure.kafkaError, isRetriable: false, cause: failure
            )
        }
        try await endTransaction(commit: true)
    }

    /// Sends what is buffered and aborts (EndTxn): nothing of the transaction is ever read by read_committed
    /// consumers. Fails only when the producer was fenced (then it can do nothing more) or the coordinator stays
    /// unreachable.
    public func abortTransaction() async throws {
        try requireOpenTransaction()
        await flush()
        if let failure = transactionFailure, Self.isFencing(failure.kafkaError) { throw failure }
        try await endTransaction(commit: false)
    }

    /// Commits consumer offsets as part of the open transaction (AddOffsetsToTxn, then TxnOffsetCommit to the
    /// group's coordinator): they become the group's committed offsets only if the transaction commits. `offsets`
    /// are the next offsets to read (the last processed offset + 1), as with `Consumer.commit(offsets:)`.
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], group: ConsumerGroupMetadata) async throws
    {
        try requireOpenTransaction()
        let transactionalID = try requireTransactional()
        guard !offsets.isEmpty else { return }
        if !transactionOffsetsAdded {
            var add = AddOffsetsToTxnRequest()
            add.transactionalID = transactionalID
            add.producerID = producerID
            add.producerEpoch = producerEpoch
            add.groupID = group.groupID
            _ = try await sendToTransactionCoordinator(add) { $0.errorCode }
            transactionOffsetsAdded = true
        }
        var commit = TxnOffsetCommitRequest()
        commit.transactionalID = transactionalID
        commit.groupID = group.groupID
        commit.producerID = producerID
        commit.producerEpoch = producerEpoch
        commit.generationID = group.generationID
        commit.memberID = group.memberID
        commit.groupInstanceID = group.groupInstanceID
        commit.topics = Dictionary(grouping: offsets, by: { $0.key.topic }).sorted { $0.key < $1.key }.map {
            topic, entries in
            .init(
                name: topic,
                partitions: entries.sorted { $0.key.partition < $1.key.partition }.map {
                    .init(
                        partitionIndex: $0.key.partition, committedOffset: $0.value, committedLeaderEpoch: -1,
                        committedMetadata: "")
                })
        }
        let deadline = ContinuousClock.now + configuration.maxBlock
        while true {
            do {
                let coordinator = try await client.findCoordinator(key: group.groupID, keyType: 0)
                let response = try await client.send(commit, to: coordinator)
                let code =
                    response.topics.lazy.flatMap(\.partitions).map { ErrorCode(rawValue: $0.errorCode) }.first {
                        $0 != .none
                    } ?? .none
                if code == .none { return }
                if KafkaClient.isCoordinatorError(code) {
                    await client.invalidateCoordinator(key: group.groupID, keyType: 0)
                }
                throw ClientError(
                    .transaction, "TxnOffsetCommit for group \(group.groupID) failed", kafkaError: code,
                    broker: coordinator)
            } catch let error as ClientError where error.isRetriable && ContinuousClock.now < deadline {
                try await Task.sleep(for: configuration.retryBackoff)
            }
        }
    }

    // MARK: The sender's part

    /// Registers with the coordinator the partitions of `ready` that are new to the open transaction. Batches whose
    /// partition could not be added are retried later (or fail), never sent outside the transaction.
    func addToTransaction(_ ready: [ProducerBatch]) async -> [ProducerBatch] {
        guard let transactionalID = configuration.transactionalID else { return ready }
        let new = Set(ready.map(\.partition)).subtracting(transactionPartitions)
        guard !new.isEmpty else { return ready }
        var request = AddPartitionsToTxnRequest()
        request.v3AndBelowTransactionalID = transactionalID
        request.v3AndBelowProducerID = producerID
        request.v3AndBelowProducerEpoch = producerEpoch
        request.v3AndBelowTopics = Dictionary(grouping: new, by: \.topic).sorted { $0.key < $1.key }.map {
            topic, partitions in
            .init(name: topic, partitions: partitions.map(\.partition).sorted())
        }
        do {
            _ = try await sendToTransactionCoordinator(request) { response in
                let codes = response.resultsByTopicV3AndBelow.flatMap(\.resultsByPartition).map(\.partitionErrorCode)
                // OPERATION_NOT_ATTEMPTED only says another partition failed: report that one.
                return codes.first { $0 != 0 && $0 != ErrorCode.operationNotAttempted.rawValue } ?? codes.first {
                    $0 != 0
                } ?? 0
            }
            transactionPartitions.formUnion(new)
            return ready
        } catch {
            var kept = [ProducerBatch]()
            for batch in ready {
                if new.contains(batch.partition) { retryOrFail(batch, error) } else { kept.append(batch) }
            }
            return kept
        }
    }

    /// A record of the open transaction failed for good: the transaction can only be aborted.
    func noteTransactionFailure(_ error: any Error) {
        guard transactionFailure == nil else { return }
        transactionFailure =
            error as? ClientError ?? ClientError(.transaction, "\(error)", isRetriable: false, cause: error)
    }

    nonisolated func checkTransactionOpen(topic: String) throws(ClientError) {
        guard intake.withLockedValue({ $0.transactionOpen }) else {
            throw ClientError(
                .transaction, "a transactional producer sends only inside beginTransaction() … commitTransaction()",
                isRetriable: false, topic: topic
            )
        }
    }

    // MARK: Helpers

    private func endTransaction(commit: Bool) async throws {
        let transactionalID = try requireTransactional()
        intake.withLockedValue { $0.transactionOpen = false }
        // Nothing reached the coordinator: there is nothing to end there (Kafka's producer skips EndTxn too).
        guard !transactionPartitions.isEmpty || transactionOffsetsAdded else { return }
        var request = EndTxnRequest()
        request.transactionalID = transactionalID
        request.producerID = producerID
        request.producerEpoch = producerEpoch
        request.committed = commit
        do {
            _ = try await sendToTransactionCoordinator(request) { $0.errorCode }
        } catch {
            // Still open: the caller may retry or abort.
            intake.withLockedValue { $0.transactionOpen = true }
            throw error
        }
        transactionPartitions = []
        transactionOffsetsAdded = false
        transactionFailure = nil
    }

    /// Sends a request to the transaction coordinator, finding it first and again after NOT_COORDINATOR, and retries
    /// retriable errors (CONCURRENT_TRANSACTIONS included: the previous transaction is still being completed)
    /// until `maxBlock`.
    private func sendToTransactionCoordinator<R: KafkaRequest>(
        _ request: R, errorCode: (R.Response) -> Int16
    ) async throws -> R.Response {
        let transactionalID = try requireTransactional()
        let deadline = ContinuousClock.now + configuration.maxBlock
        while true {
            do {
                let coordinator = try await client.findCoordinator(key: transactionalID, keyType: 1)
                let response = try await client.send(request, to: coordinator)
                let code = ErrorCode(rawValue: errorCode(response))
                if code == .none { return response }
                if KafkaClient.isCoordinatorError(code) {
                    await client.invalidateCoordinator(key: transactionalID, keyType: 1)
                }
                let retriable = code.isRetriable || code == .concurrentTransactions
                throw ClientError(
                    .transaction, "\(R.apiKey) for transactional id \(transactionalID) failed", kafkaError: code,
                    isRetriable: retriable, broker: coordinator
                )
            } catch let error as ClientError where error.isRetriable && ContinuousClock.now < deadline {
                try await Task.sleep(for: configuration.retryBackoff)
            }
        }
    }

    private func requireTransactional() throws(ClientError) -> String {
        guard let transactionalID = configuration.transactionalID else {
            throw ClientError(.invalidArgument, "the producer has no transactionalID", isRetriable: false)
        }
        return transactionalID
    }

    private func requireOpenTransaction() throws(ClientError) {
        guard intake.withLockedValue({ $0.transactionOpen }) else {
            throw ClientError(.transaction, "no transaction is open (call beginTransaction())", isRetriable: false)
        }
    }

    /// Errors after which the producer can do nothing more: a newer producer with its transactional id took over.
    static func isFencing(_ code: ErrorCode?) -> Bool {
        code == .producerFenced || code == .invalidProducerEpoch
    }
}
