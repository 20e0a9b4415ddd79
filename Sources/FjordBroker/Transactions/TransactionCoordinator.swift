import FjordController
import FjordGroups
import FjordStorage
import FjordTransactions
import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Drives the pure `TransactionManager` (FjordTransactions): owns it behind one lock, appends the records it plans
/// to `__transaction_state`, writes the COMMIT/ABORT markers into every partition of a transaction (on a single
/// node the coordinator is every partition's leader, so Kafka's WriteTxnMarkers request becomes a direct append),
/// tells the group coordinator when a marker lands in `__consumer_offsets`, and answers only after that.
///
/// At start-up `load()` replays every `__transaction_state` partition, then finishes transactions that were
/// between their Prepare and Complete records when the broker stopped. `TransactionCoordinatorService` aborts
/// transactions that outlive their timeout. Every entry point that changes state blocks (appends, markers,
/// producer id blocks) under `state`'s lock: call it on the I/O thread pool. Readers that must not wait behind an
/// EndTxn writing its markers — produce's transaction verification, DescribeTransactions, ListTransactions — read
/// `published`, the manager as of its last replayed record.
final class TransactionCoordinator: Sendable {
    static let topicName = "__transaction_state"

    let internalTopic: InternalTopic
    private let configuration: BrokerConfiguration
    private let replicas: ReplicaManager
    private let groups: GroupCoordinator
    private let allocator: ProducerIDAllocator
    private let clock: any StorageClock
    /// Runs what a marker's append still owes (flush policy, producer snapshot at a roll), as Produce does.
    private let finishAppend: @Sendable (PartitionAppendOutcome, PartitionReplica) -> Void
    let logger: Logger
    /// The manager, owned by its lock, which is held across the appends and marker writes of each step.
    private let state: NIOLockedValueBox<TransactionManager>
    /// A copy of the manager, published after every record it replays (so a Prepare is visible before the markers
    /// are written); its lock is never held across I/O.
    private let published: NIOLockedValueBox<TransactionManager>

    init(
        configuration: BrokerConfiguration, metadata: MetadataService, replicas: ReplicaManager,
        groups: GroupCoordinator,
        allocator: ProducerIDAllocator, clock: any StorageClock, logger: Logger,
        finishAppend: @escaping @Sendable (PartitionAppendOutcome, PartitionReplica) -> Void
    ) {
        self.finishAppend = finishAppend
        self.configuration = configuration
        self.replicas = replicas
        self.groups = groups
        self.allocator = allocator
        self.clock = clock
        self.logger = logger
        internalTopic = InternalTopic(
            name: Self.topicName, partitionCount: configuration.transactionStateTopicPartitionCount,
            replicationFactor: configuration.transactionStateTopicReplicationFactor,
            segmentBytes: configuration.transactionStateTopicSegmentBytes, metadata: metadata,
            nodeID: configuration.nodeID
        )
        var transactionConfiguration = TransactionConfiguration()
        transactionConfiguration.maxTimeoutMs = configuration.transactionMaxTimeoutMs
        transactionConfiguration.idExpirationMs = Int64(configuration.transactionalIDExpirationMs)
        let manager = TransactionManager(configuration: transactionConfiguration)
        state = NIOLockedValueBox(manager)
        published = NIOLockedValueBox(manager)
    }

    // MARK: Start-up and time

    /// Replays every `__transaction_state` partition this node holds, then completes the transactions that were
    /// left between Prepare and Complete (their markers are written again; a marker written twice is harmless).
    func load() throws {
        var loaded = state.withLockedValue { $0 }
        var replayed = 0
        try internalTopic.forEachBatch(in: replicas) { partition, batch in
            guard !batch.isControl else { return }
            for record in try batch.records() {
                guard let key = record.key else { continue }
                do {
                    try loaded.replay(key: key, value: record.value)
                    replayed += 1
                } catch {
                    logger.warning(
                        "skipping an unreadable record",
                        metadata: ["partition": "\(partition)", "offset": "\(record.offset)", "error": "\(error)"])
                }
            }
        }
        state.withLockedValue { manager in
            manager = loaded
            publish(manager)
            let now = clock.nowMilliseconds()
            for markers in manager.unfinishedMarkers {
                _ = finish(markers, in: &manager, now: now)
            }
        }
        if replayed > 0 {
            logger.info(
                "transactions loaded",
                metadata: ["records": "\(replayed)", "transactional.ids": "\(loaded.transactions.count)"])
        }
    }

    /// Aborts timed-out transactions and forgets idle ids (`TransactionCoordinatorService`). Blocking.
    func tick() {
        let now = clock.nowMilliseconds()
        state.withLockedValue { manager in
            guard let deadline = manager.nextDeadline, deadline <= now else { return }
            for plan in manager.tick(now: now) {
                if let markers = plan.markers {
                    logger.info(
                        "aborting a timed-out transaction",
                        metadata: [
                            "transactional.id": "\(markers.transactionalID)", "producer.id": "\(markers.producerID)",
                        ])
                }
                _ = perform(plan, in: &manager, now: now)
            }
            publish(manager)
        }
    }

    // MARK: Requests

    /// InitProducerId with a transactional id.
    func initProducerID(transactionalID: String, timeoutMs: Int32, producerID: ProducerID, producerEpoch: ProducerEpoch)
        -> InitProducerIDResponse
    {
        let error = internalTopic.checkCoordinator(transactionalID)
        guard error == .none else {
            return InitProducerIDResponse(errorCode: error.rawValue, producerID: -1, producerEpoch: -1)
        }
        let now = clock.nowMilliseconds()
        return state.withLockedValue { manager in
            defer { publish(manager) }
            let plan: TransactionPlan
            do {
                plan = try manager.initProducerID(
                    transactionalID: transactionalID, timeoutMs: timeoutMs, producerID: producerID,
                    producerEpoch: producerEpoch, now: now
                ) { try allocator.next() }
            } catch {
                logger.error("no producer id could be allocated", metadata: ["error": "\(error)"])
                return InitProducerIDResponse(
                    errorCode: ErrorCode.coordinatorNotAvailable.rawValue, producerID: -1, producerEpoch: -1)
            }
            let answer = perform(plan, in: &manager, now: now)
            guard answer == .none else {
                return InitProducerIDResponse(errorCode: answer.rawValue, producerID: -1, producerEpoch: -1)
            }
            return InitProducerIDResponse(errorCode: 0, producerID: plan.producerID, producerEpoch: plan.producerEpoch)
        }
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, with the group's `__consumer_offsets` partition): one error for
    /// every partition. Partitions that do not exist get UNKNOWN_TOPIC_OR_PARTITION and the others
    /// OPERATION_NOT_ATTEMPTED, as Kafka answers.
    func addPartitions(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, partitions: [TopicPartition]
    )
        -> [TopicPartition: ErrorCode]
    {
        let error = internalTopic.checkCoordinator(transactionalID)
        guard error == .none else { return Dictionary(partitions.map { ($0, error) }, uniquingKeysWith: { a, _ in a }) }
        let image = internalTopic.metadata.publisher.image
        let unknown = Set(
            partitions.filter { key in
                !(image.topic(named: key.topic)?.partitions.contains { $0.index == key.partition } ?? false)
            })
        guard unknown.isEmpty else {
            return Dictionary(
                partitions.map {
                    ($0, unknown.contains($0) ? ErrorCode.unknownTopicOrPartition : .operationNotAttempted)
                }, uniquingKeysWith: { a, _ in a })
        }
        let now = clock.nowMilliseconds()
        let answer = state.withLockedValue { manager in
            defer { publish(manager) }
            let plan = manager.addPartitions(
                transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch,
                partitions: partitions, now: now
            )
            return perform(plan, in: &manager, now: now)
        }
        return Dictionary(partitions.map { ($0, answer) }, uniquingKeysWith: { a, _ in a })
    }

    /// The `__consumer_offsets` partition of `groupID` (AddOffsetsToTxn adds it to the transaction).
    func offsetsPartition(for groupID: String) throws -> TopicPartition? {
        if groups.topic == nil { try groups.createTopicIfNeeded() }
        return groups.partition(for: groupID).map { TopicPartition(GroupCoordinator.topicName, $0) }
    }

    /// EndTxn: the Prepare record, the markers, the Complete record, then the answer.
    func endTransaction(transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, commit: Bool)
        -> ErrorCode
    {
        let error = internalTopic.checkCoordinator(transactionalID)
        guard error == .none else { return error }
        let now = clock.nowMilliseconds()
        return state.withLockedValue { manager in
            defer { publish(manager) }
            let plan = manager.endTransaction(
                transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch, commit: commit,
                now: now
            )
            return perform(plan, in: &manager, now: now)
        }
    }

    /// Whether a transactional produce to `partition` belongs to the producer's open transaction (KIP-890 part 1):
    /// .none, INVALID_TXN_STATE when the partition was not added, INVALID_PRODUCER_ID_MAPPING or
    /// INVALID_PRODUCER_EPOCH when the producer is not the id's current one, NOT_COORDINATOR when another broker
    /// coordinates the id. Reads the published state: never waits behind an EndTxn that is writing its markers.
    func verify(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, partition: TopicPartition
    )
        -> ErrorCode
    {
        let error = internalTopic.checkCoordinator(transactionalID)
        guard error == .none else { return error == .coordinatorNotAvailable ? .invalidProducerIDMapping : error }
        return published.withLockedValue { manager in
            manager.verifyPartition(
                transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch,
                partition: partition)
        }
    }

    func describe(_ transactionalIDs: [String]) -> [DescribeTransactionsResponse.TransactionState] {
        transactionalIDs.map { id in
            let error = internalTopic.checkCoordinator(id)
            guard error == .none else {
                return .init(
                    errorCode: error.rawValue, transactionalID: id, transactionState: "", transactionTimeoutMs: 0,
                    transactionStartTimeMs: -1, producerID: -1, producerEpoch: -1, topics: [])
            }
            return published.withLockedValue { $0.describe(id) }
        }
    }

    func list(states: Set<TransactionState>, producerIDs: Set<Int64>, minimumDurationMs: Int64) -> [TransactionMetadata]
    {
        let now = clock.nowMilliseconds()
        return published.withLockedValue {
            $0.list(states: states, producerIDs: producerIDs, minimumDurationMs: minimumDurationMs, now: now)
        }
    }

    // MARK: Carrying out plans

    /// Appends the plan's record and replays it, writes its markers and completes the transaction; returns the
    /// answer. Called with the state lock held.
    private func perform(_ plan: TransactionPlan, in manager: inout TransactionManager, now: Int64) -> ErrorCode {
        if let record = plan.record {
            let error = append(record, now: now)
            guard error == .none else { return error }
            replay(record, into: &manager)
        }
        if let markers = plan.markers {
            let error = finish(markers, in: &manager, now: now)
            guard error == .none else { return error }
        }
        return plan.error
    }

    /// Writes a transaction's markers into each of its partitions, then appends its Complete record. Called with
    /// the state lock held.
    private func finish(_ markers: TransactionMarkers, in manager: inout TransactionManager, now: Int64) -> ErrorCode {
        let coordinatorEpoch =
            internalTopic.partition(for: markers.transactionalID)
            .flatMap { replicas.replica(for: TopicPartition(Self.topicName, $0))?.leaderEpoch } ?? 0
        for partition in markers.partitions {
            // A partition whose topic was deleted since it joined the transaction has nothing left to mark.
            guard let replica = replicas.replica(for: TopicPartition(partition.topic, partition.partition)) else {
                continue
            }
            let outcome = replica.appendTransactionMarker(
                producerID: markers.producerID, producerEpoch: markers.producerEpoch,
                coordinatorEpoch: coordinatorEpoch,
                commit: markers.commit, now: now
            )
            finishAppend(outcome, replica)
            if outcome.error != .none, outcome.error != .invalidProducerEpoch {
                // Not written: the transaction stays prepared and is completed at the next start-up (or when the
                // producer's retry finds it prepared).
                logger.error(
                    "writing a transaction marker failed",
                    metadata: [
                        "partition": "\(partition.topic)-\(partition.partition)", "error": "\(outcome.error)",
                        "message": "\(outcome.errorMessage ?? "")",
                    ])
                return .coordinatorNotAvailable
            }
            if partition.topic == GroupCoordinator.topicName {
                groups.completeTransaction(
                    producerID: markers.producerID, partition: partition.partition, commit: markers.commit)
            }
        }
        guard let completion = manager.completeTransaction(markers.transactionalID, now: now) else { return .none }
        let error = append(completion, now: now)
        guard error == .none else { return error }
        replay(completion, into: &manager)
        return .none
    }

    /// Takes an appended record in and publishes the result: a Prepare is visible to `verify` before any marker is
    /// written.
    private func replay(_ record: TransactionRecord, into manager: inout TransactionManager) {
        do {
            try manager.replay(record)
        } catch {
            preconditionFailure("a record the coordinator wrote does not decode: \(error)")
        }
        publish(manager)
    }

    private func publish(_ manager: TransactionManager) {
        published.withLockedValue { $0 = manager }
    }

    /// Appends one record to its transactional id's partition. Called with the state lock held.
    private func append(_ record: TransactionRecord, now: Int64) -> ErrorCode {
        guard let partition = internalTopic.partition(for: record.transactionalID) else {
            return .coordinatorNotAvailable
        }
        return internalTopic.append([(record.key, record.value)], to: partition, in: replicas, now: now, logger: logger)
    }
}
