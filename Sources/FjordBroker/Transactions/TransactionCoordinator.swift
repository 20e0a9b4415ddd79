import Dispatch
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
/// to `__transaction_state`, writes the COMMIT/ABORT markers into every partition of a transaction (a direct append
/// for a partition this node leads; WriteTxnMarkers to its leader otherwise, `TransactionMarkerChannel`), tells the
/// group coordinator when a marker lands in a local `__consumer_offsets` partition, and answers only after that.
///
/// It serves the `__transaction_state` partitions this node leads, as the group coordinator does: each published
/// image (and the tick, for what an image could not settle) queues a pass on `loader` that unloads the partitions
/// led elsewhere now (their ids answer NOT_COORDINATOR) and loads those newly led (their log replayed off the lock,
/// COORDINATOR_LOAD_IN_PROGRESS meanwhile), then finishes the transactions of a loaded partition that were between
/// their Prepare and Complete records. Leader epochs order the passes (`CoordinatorPartitions`); the epoch a
/// partition was loaded at is the coordinator epoch its markers carry. `load()` runs one pass at start-up. `TransactionCoordinatorService` aborts
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
    /// WriteTxnMarkers to the leaders of partitions on other brokers.
    private let markerChannel: TransactionMarkerChannel
    /// Loads and unloads partitions, one pass at a time, off the event loops and the metadata driver's thread.
    private let loader = DispatchQueue(label: "fjord.transaction-coordinator.loader")
    /// The image offset the last complete pass settled, and whether a pass is queued.
    private let passes = NIOLockedValueBox<(settledOffset: Int64, queued: Bool)>((-1, false))
    /// `__transaction_state`'s partition count as of the last load (to unload after the topic is gone).
    private let loadedPartitionCount = NIOLockedValueBox<Int32?>(nil)

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
        markerChannel = TransactionMarkerChannel(
            listenerName: configuration.interBrokerListenerName, localID: configuration.nodeID, logger: logger)
        metadata.publisher.onPublish { [weak self] _ in self?.scheduleLeadershipPass() }
    }

    deinit { markerChannel.close() }

    /// Creates `__transaction_state` if it does not exist, then loads the partitions this node leads at once.
    /// Blocking: run on the thread pool.
    func createTopicIfNeeded() throws {
        guard internalTopic.topic == nil else { return }
        try internalTopic.createIfNeeded(logger: logger)
        loader.sync { _ = runLeadershipPass() }
    }

    /// Whether this node may serve `transactionalID` now: the image's answer (COORDINATOR_NOT_AVAILABLE,
    /// NOT_COORDINATOR), then whether its partition is loaded (COORDINATOR_LOAD_IN_PROGRESS while it loads).
    /// `manager` is the state to check, under its lock; nil: the published copy.
    private func servingError(_ transactionalID: String, in manager: TransactionManager? = nil) -> ErrorCode {
        let error = internalTopic.checkCoordinator(transactionalID)
        guard error == .none else { return error }
        // Led here: not loaded yet means about to load (the pass is queued), so the client retries here.
        guard let count = loadedPartitionCount.withLockedValue({ $0 }) else { return .coordinatorLoadInProgress }
        let serving =
            manager?.servingError(for: transactionalID, partitionCount: count)
            ?? published.withLockedValue { $0.servingError(for: transactionalID, partitionCount: count) }
        return serving == .notCoordinator ? .coordinatorLoadInProgress : serving
    }

    // MARK: Start-up and time

    /// Start-up: loads every `__transaction_state` partition this node leads (finishing their interrupted
    /// transactions) and waits until that is done. Blocking.
    func load() throws {
        loader.sync { _ = runLeadershipPass() }
    }

    /// Queues a pass (at most one waits at a time); called on every published image and by the tick when the last
    /// pass could not settle the image it saw.
    func scheduleLeadershipPass() {
        let alreadyQueued = passes.withLockedValue { passes in
            defer { passes.queued = true }
            return passes.queued
        }
        guard !alreadyQueued else { return }
        loader.async { [self] in
            passes.withLockedValue { $0.queued = false }
            let offset = internalTopic.metadata.publisher.image.lastAppliedOffset
            if runLeadershipPass() { passes.withLockedValue { $0.settledOffset = offset } }
        }
    }

    /// Unloads the partitions no longer led here, then loads those newly led. Runs on `loader`.
    private func runLeadershipPass() -> Bool {
        let served = state.withLockedValue { $0.partitions }
        let changes = internalTopic.leadershipChanges(served: served, in: replicas)
        for (partition, epoch) in changes.unload { unload(partition: partition, epoch: epoch) }
        if let count = changes.partitionCount {
            for (partition, epoch) in changes.load { load(partition: partition, epoch: epoch, partitionCount: count) }
        }
        return changes.complete
    }

    /// Forgets the transactional ids of a partition led elsewhere now. Ignored when stale.
    private func unload(partition: Int32, epoch: LeaderEpoch?) {
        guard let count = loadedPartitionCount.withLockedValue({ $0 }) else { return }
        let removed = state.withLockedValue { manager -> [String]? in
            defer { publish(manager) }
            return manager.unload(partition: partition, epoch: epoch, partitionCount: count)
        }
        guard let removed else { return }
        logger.info(
            "transactions unloaded",
            metadata: [
                "partition": "\(partition)", "epoch": "\(epoch.map(String.init) ?? "deleted")",
                "transactional.ids": "\(removed.count)",
            ])
    }

    /// Replays a partition's log into a scratch manager, installs it if the partition is still loading at `epoch`,
    /// then completes the transactions it left between Prepare and Complete (their markers are written again; a
    /// marker written twice is harmless). Blocking.
    private func load(partition: Int32, epoch: LeaderEpoch, partitionCount: Int32) {
        loadedPartitionCount.withLockedValue { $0 = partitionCount }
        let begun = state.withLockedValue { manager in
            defer { publish(manager) }
            return manager.beginLoading(partition: partition, epoch: epoch)
        }
        guard begun else { return }
        var loaded = state.withLockedValue { TransactionManager(configuration: $0.configuration) }
        var replayed = 0
        do {
            try internalTopic.forEachBatch(of: partition, in: replicas) { batch in
                guard !batch.isControl else { return }
                for record in try batch.records() {
                    guard let key = record.key else { continue }
                    do {
                        try loaded.replay(key: key, value: record.value)
                        replayed += 1
                    } catch {
                        logger.warning(
                            "skipping an unreadable record",
                            metadata: [
                                "partition": "\(partition)", "offset": "\(record.offset)", "error": "\(error)",
                            ])
                    }
                }
            }
        } catch {
            state.withLockedValue { manager in
                manager.abandonLoading(partition: partition, epoch: epoch)
                publish(manager)
            }
            logger.error(
                "loading transactions failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
            return
        }
        let installed = state.withLockedValue { manager -> Bool in
            guard
                manager.completeLoading(
                    partition: partition, epoch: epoch, from: loaded, partitionCount: partitionCount)
            else { return false }
            publish(manager)
            let now = clock.nowMilliseconds()
            for markers in manager.unfinishedMarkers(partition: partition, partitionCount: partitionCount) {
                _ = finish(markers, in: &manager, now: now)
            }
            publish(manager)
            return true
        }
        guard installed else { return }
        logger.info(
            "transactions loaded",
            metadata: [
                "partition": "\(partition)", "epoch": "\(epoch)", "records": "\(replayed)",
                "transactional.ids": "\(loaded.transactions.count)",
            ])
    }

    /// Aborts timed-out transactions and forgets idle ids (`TransactionCoordinatorService`). Blocking.
    func tick() {
        let now = clock.nowMilliseconds()
        let settled = passes.withLockedValue { $0.settledOffset }
        if settled != internalTopic.metadata.publisher.image.lastAppliedOffset { scheduleLeadershipPass() }
        state.withLockedValue { manager in
            // Transactions whose markers could not all be written (a leader was unreachable): tried again. Every
            // EndTxn finishes its own under this lock, so what is still prepared here is stuck.
            for markers in manager.unfinishedMarkers {
                _ = finish(markers, in: &manager, now: now)
            }
            publish(manager)
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
        let error = servingError(transactionalID)
        guard error == .none else {
            return InitProducerIDResponse(errorCode: error.rawValue, producerID: -1, producerEpoch: -1)
        }
        let now = clock.nowMilliseconds()
        return state.withLockedValue { manager in
            defer { publish(manager) }
            let serving = servingError(transactionalID, in: manager)
            guard serving == .none else {
                return InitProducerIDResponse(errorCode: serving.rawValue, producerID: -1, producerEpoch: -1)
            }
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
        let error = servingError(transactionalID)
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
            let serving = servingError(transactionalID, in: manager)
            guard serving == .none else { return serving }
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
        let error = servingError(transactionalID)
        guard error == .none else { return error }
        let now = clock.nowMilliseconds()
        return state.withLockedValue { manager in
            defer { publish(manager) }
            let serving = servingError(transactionalID, in: manager)
            guard serving == .none else { return serving }
            let plan = manager.endTransaction(
                transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch, commit: commit,
                now: now
            )
            return perform(plan, in: &manager, now: now)
        }
    }

    /// Whether a transactional produce to `partition` belongs to the producer's open transaction (KIP-890 part 1):
    /// .none, INVALID_TXN_STATE when the partition was not added, INVALID_PRODUCER_ID_MAPPING or
    /// INVALID_PRODUCER_EPOCH when the producer is not the id's current one, NOT_ENOUGH_REPLICAS (retriable) while the
    /// coordinator cannot tell (no leader, loading); .none unchecked when another broker coordinates the id. Reads the
    /// published state: never waits behind an EndTxn that is writing its markers.
    func verify(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, partition: TopicPartition
    )
        -> ErrorCode
    {
        // Another broker coordinates the id: Kafka's leader would ask it (AddPartitionsToTxn v4, verify only);
        // Fjord does not yet, and appends unverified, as with transaction.partition.verification.enable=false.
        if case .success(let coordinator) = internalTopic.coordinator(for: transactionalID),
            coordinator.nodeID != internalTopic.nodeID
        {
            return .none
        }
        switch servingError(transactionalID) {
        case .none:
            break
        case .coordinatorNotAvailable where internalTopic.topic == nil:
            // No transactional id was ever initialized: the producer's id cannot be one of them.
            return .invalidProducerIDMapping
        case .coordinatorNotAvailable, .coordinatorLoadInProgress, .notCoordinator:
            // The coordinator cannot tell now: retriable, without a metadata refresh (Kafka's mapping).
            return .notEnoughReplicas
        case let error:
            return error
        }
        return published.withLockedValue { manager in
            manager.verifyPartition(
                transactionalID: transactionalID, producerID: producerID, producerEpoch: producerEpoch,
                partition: partition)
        }
    }

    func describe(_ transactionalIDs: [String]) -> [DescribeTransactionsResponse.TransactionState] {
        transactionalIDs.map { id in
            let error = servingError(id)
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

    /// Writes a transaction's markers into each of its partitions — appended here for the partitions this node
    /// leads, sent as WriteTxnMarkers to the leader of the others — then appends its Complete record. Any marker not
    /// written leaves the transaction prepared (COORDINATOR_NOT_AVAILABLE): the tick, a later load or the
    /// producer's retry tries again. Called with the state lock held.
    private func finish(_ markers: TransactionMarkers, in manager: inout TransactionManager, now: Int64) -> ErrorCode {
        let coordinatorEpoch =
            internalTopic.partition(for: markers.transactionalID)
            .flatMap { replicas.replica(for: TopicPartition(Self.topicName, $0))?.leaderEpoch } ?? 0
        let image = internalTopic.metadata.publisher.image
        var remote = [NodeID: [TopicPartition]]()
        for partition in markers.partitions {
            if let replica = replicas.replica(for: partition), replica.isLeader {
                let outcome = replica.appendTransactionMarker(
                    producerID: markers.producerID, producerEpoch: markers.producerEpoch,
                    coordinatorEpoch: coordinatorEpoch,
                    commit: markers.commit, now: now
                )
                finishAppend(outcome, replica)
                if outcome.error != .none, outcome.error != .invalidProducerEpoch {
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
                continue
            }
            // A partition whose topic was deleted since it joined the transaction has nothing left to mark.
            guard
                let leader = image.topic(named: partition.topic)?.partitions
                    .first(where: { $0.index == partition.partition })?.leader
            else { continue }
            guard leader >= 0, leader != internalTopic.nodeID else {
                logger.warning(
                    "no leader to write a transaction marker to",
                    metadata: ["partition": "\(partition.topic)-\(partition.partition)"])
                return .coordinatorNotAvailable
            }
            remote[leader, default: []].append(partition)
        }
        for (leader, partitions) in remote.sorted(by: { $0.key < $1.key }) {
            let error = writeRemoteMarkers(
                markers, partitions: partitions, coordinatorEpoch: coordinatorEpoch, on: leader, image: image)
            guard error == .none else { return error }
        }
        guard let completion = manager.completeTransaction(markers.transactionalID, now: now) else { return .none }
        let error = append(completion, now: now)
        guard error == .none else { return error }
        replay(completion, into: &manager)
        return .none
    }

    /// WriteTxnMarkers for `partitions` to their leader `node`. Per partition, the marker counts as written when the
    /// leader wrote it, found the producer already past that epoch, or no longer knows the partition (deleted).
    private func writeRemoteMarkers(
        _ markers: TransactionMarkers, partitions: [TopicPartition], coordinatorEpoch: Int32, on node: NodeID,
        image: MetadataImage
    ) -> ErrorCode {
        var byTopic = [String: [Int32]]()
        for partition in partitions { byTopic[partition.topic, default: []].append(partition.partition) }
        let request = WriteTxnMarkersRequest(markers: [
            .init(
                producerID: markers.producerID, producerEpoch: markers.producerEpoch,
                transactionResult: markers.commit,
                topics: byTopic.sorted { $0.key < $1.key }.map { .init(name: $0.key, partitionIndexes: $0.value) },
                coordinatorEpoch: coordinatorEpoch)
        ])
        switch markerChannel.write(request, on: node, image: image) {
        case .failure(let error):
            logger.warning(
                "writing transaction markers on another broker failed",
                metadata: ["broker": "\(node)", "transactional.id": "\(markers.transactionalID)", "error": "\(error)"])
            return .coordinatorNotAvailable
        case .success(let response):
            let accepted: Set<ErrorCode> = [.none, .invalidProducerEpoch, .unknownTopicOrPartition]
            for marker in response.markers {
                for topic in marker.topics {
                    for partition in topic.partitions where !accepted.contains(ErrorCode(rawValue: partition.errorCode))
                    {
                        logger.warning(
                            "a broker refused a transaction marker",
                            metadata: [
                                "broker": "\(node)", "partition": "\(topic.name)-\(partition.partitionIndex)",
                                "error": "\(ErrorCode(rawValue: partition.errorCode))",
                            ])
                        return .coordinatorNotAvailable
                    }
                }
            }
            return .none
        }
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
