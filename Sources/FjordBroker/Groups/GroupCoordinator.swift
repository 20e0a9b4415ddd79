import Dispatch
import FjordController
import FjordGroups
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Drives the pure `GroupManager` (FjordGroups): it owns the state (`State`) behind one lock, stamps inputs with
/// the clock and fresh member ids, appends the records the manager returns to `__consumer_offsets` (through the
/// partition's `PartitionReplica`, as a produce with acks=all would: on a single node, an append), and only then
/// answers. JoinGroup/SyncGroup answers that wait for a rebalance are promises keyed by request id;
/// `GroupCoordinatorService` ticks the manager (session expiry, rebalance and initial delays, offset expiry).
///
/// The lock is held across the appends, so that records reach the log in the order the manager planned them:
/// every entry point therefore runs on the I/O thread pool (the group handlers declare `.ioThreadPool`), never on
/// an event loop.
///
/// It serves the `__consumer_offsets` partitions this node leads, as Kafka's coordinator does: every published
/// metadata image (and every tick, for what an image could not settle yet) schedules a pass on `loader`, a serial
/// queue of its own, that loads the partitions that became led here (their log replayed into a scratch manager off
/// the lock, then installed; meanwhile their groups answer COORDINATOR_LOAD_IN_PROGRESS) and unloads those led
/// elsewhere now (their groups and timers gone, waiting requests and later ones answered NOT_COORDINATOR, so
/// clients look the coordinator up again). Each load and unload carries the partition's leader epoch, so a stale
/// one never undoes a newer one (`CoordinatorPartitions`). `load()` runs one pass at start-up and waits for it.
final class GroupCoordinator: Sendable {
    static let topicName = "__consumer_offsets"
    /// How often the manager is ticked (ms): the precision of session and rebalance timeouts.
    static let tickIntervalMs: Int64 = 100

    private let configuration: BrokerConfiguration
    private let metadata: MetadataService
    private let replicas: ReplicaManager
    private let clock: any StorageClock
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    /// Loads and unloads partitions, one pass at a time, off the event loops and off the metadata driver's thread.
    private let loader = DispatchQueue(label: "fjord.group-coordinator.loader")
    /// The image offset the last complete pass settled, and whether a pass is queued.
    private let passes = NIOLockedValueBox<(settledOffset: Int64, queued: Bool)>((-1, false))

    /// Everything the coordinator changes, owned by its lock.
    private struct State: Sendable {
        var manager: GroupManager
        var nextRequestID: RequestID = 0
        var joinPromises: [RequestID: EventLoopPromise<JoinGroupResponse>] = [:]
        var syncPromises: [RequestID: EventLoopPromise<SyncGroupResponse>] = [:]
        var lastExpiry: Int64 = 0
        /// The metadata image the consumer groups were last checked against.
        var consumerTickImageOffset: Int64 = -1
        /// TxnOffsetCommit records appended but not yet committed or aborted by their transaction's marker.
        var pendingOffsets = PendingTransactionalOffsets()
        /// `__consumer_offsets`' partition count as of the last load (to unload after the topic is gone).
        var partitionCount: Int32?
        /// Transaction markers that reached a partition while it was loading: applied to what the load found.
        var completionsDuringLoad: [Int32: [(producerID: ProducerID, commit: Bool)]] = [:]
    }

    init(
        configuration: BrokerConfiguration, metadata: MetadataService, replicas: ReplicaManager,
        clock: any StorageClock, logger: Logger
    ) {
        self.configuration = configuration
        self.metadata = metadata
        self.replicas = replicas
        self.clock = clock
        self.logger = logger
        internalTopic = InternalTopic(
            name: Self.topicName, partitionCount: configuration.offsetsTopicPartitionCount,
            replicationFactor: configuration.offsetsTopicReplicationFactor,
            segmentBytes: configuration.offsetsTopicSegmentBytes,
            metadata: metadata, nodeID: configuration.nodeID
        )
        var groupConfiguration = GroupConfiguration()
        groupConfiguration.minSessionTimeoutMs = configuration.groupMinSessionTimeoutMs
        groupConfiguration.maxSessionTimeoutMs = configuration.groupMaxSessionTimeoutMs
        groupConfiguration.initialRebalanceDelayMs = configuration.groupInitialRebalanceDelayMs
        groupConfiguration.maxSize = Int(configuration.groupMaxSize)
        groupConfiguration.offsetsRetentionMs = Int64(configuration.offsetsRetentionMinutes) * 60_000
        groupConfiguration.offsetMetadataMaxBytes = Int(configuration.offsetMetadataMaxBytes)
        groupConfiguration.consumer.sessionTimeoutMs = configuration.groupConsumerSessionTimeoutMs
        groupConfiguration.consumer.heartbeatIntervalMs = configuration.groupConsumerHeartbeatIntervalMs
        groupConfiguration.consumer.maxSize = Int(configuration.groupConsumerMaxSize)
        state = NIOLockedValueBox(State(manager: GroupManager(configuration: groupConfiguration)))
        metadata.publisher.onPublish { [weak self] _ in self?.scheduleLeadershipPass() }
    }

    /// Kafka's client host form ("/127.0.0.1") from a peer address description ("[IPv4]127.0.0.1/127.0.0.1:5000").
    static func clientHost(peer: String) -> String {
        var address = Substring(peer)
        if let slash = address.lastIndex(of: "/") { address = address[address.index(after: slash)...] }
        if let colon = address.lastIndex(of: ":") { address = address[..<colon] }
        return "/" + address
    }

    // MARK: The internal topic

    /// `__consumer_offsets`: `offsets.topic.num.partitions` partitions, compacted.
    let internalTopic: InternalTopic

    /// The `__consumer_offsets` topic, if it exists.
    var topic: MetadataImage.Topic? { internalTopic.topic }

    /// The partition holding `groupID`'s records.
    func partition(for groupID: String) -> Int32? { internalTopic.partition(for: groupID) }

    /// The broker that coordinates `groupID`, or the error to answer with.
    func coordinator(for groupID: String) -> CoordinatorLookup { internalTopic.coordinator(for: groupID) }

    /// Whether this node may serve `groupID` now: COORDINATOR_NOT_AVAILABLE before the topic exists or while its
    /// partition has no leader, NOT_COORDINATOR if another broker leads its partition or it is not loaded here,
    /// COORDINATOR_LOAD_IN_PROGRESS while it loads.
    func checkCoordinator(_ groupID: String) -> ErrorCode {
        let error = internalTopic.checkCoordinator(groupID)
        guard error == .none else { return error }
        return state.withLockedValue { servingError(groupID, in: $0) }
    }

    /// Whether `groupID`'s partition is loaded, checked again under the lock by every command: a partition may
    /// have been unloaded since the handler's `checkCoordinator`.
    private func servingError(_ groupID: String, in state: State) -> ErrorCode {
        guard let count = state.partitionCount else {
            // Nothing loaded yet: a partition this node leads is about to load.
            return internalTopic.checkCoordinator(groupID) == .none ? .coordinatorLoadInProgress : .notCoordinator
        }
        let error = state.manager.servingError(for: groupID, partitionCount: count)
        // Led here but not begun yet (the pass is queued): the client retries rather than looking up again.
        if error == .notCoordinator, internalTopic.checkCoordinator(groupID) == .none {
            return .coordinatorLoadInProgress
        }
        return error
    }

    /// Creates `__consumer_offsets` if it does not exist, then loads the partitions this node leads at once (on a
    /// node alone: all of them), so the request that follows FindCoordinator finds them served. Blocking: run on the
    /// thread pool.
    func createTopicIfNeeded() throws {
        guard topic == nil else { return }
        try internalTopic.createIfNeeded(logger: logger)
        loader.sync { _ = runLeadershipPass() }
    }

    // MARK: Leadership of the partitions

    /// Start-up: loads every `__consumer_offsets` partition this node leads and waits until that is done.
    /// Blocking.
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
            let offset = metadata.publisher.image.lastAppliedOffset
            if runLeadershipPass() { passes.withLockedValue { $0.settledOffset = offset } }
        }
    }

    /// Unloads the partitions no longer led here, then loads those newly led. Runs on `loader`. Returns whether
    /// the image was settled (false: a partition led here has no leading replica yet; a later pass looks again).
    private func runLeadershipPass() -> Bool {
        let served = state.withLockedValue { $0.manager.partitions }
        let changes = internalTopic.leadershipChanges(served: served, in: replicas)
        for (partition, epoch) in changes.unload { unload(partition: partition, epoch: epoch) }
        if let count = changes.partitionCount {
            for (partition, epoch) in changes.load { load(partition: partition, epoch: epoch, partitionCount: count) }
        }
        return changes.complete
    }

    /// Drops a partition's groups, offsets and pending transactional offsets; waiting JoinGroup/SyncGroup requests
    /// of its groups are answered NOT_COORDINATOR. Ignored when stale (see `CoordinatorPartitions`).
    private func unload(partition: Int32, epoch: LeaderEpoch?) {
        let (answers, unloaded) = state.withLockedValue { state -> ([() -> Void], GroupManager.Unloaded?) in
            guard let count = state.partitionCount,
                let unloaded = state.manager.unload(partition: partition, epoch: epoch, partitionCount: count)
            else { return ([], nil) }
            state.pendingOffsets.remove(partition: partition)
            state.completionsDuringLoad[partition] = nil
            return (takeAnswers(unloaded.outputs, from: &state), unloaded)
        }
        for answer in answers { answer() }
        guard let unloaded else { return }
        logger.info(
            "groups unloaded",
            metadata: [
                "partition": "\(partition)", "epoch": "\(epoch.map(String.init) ?? "deleted")",
                "groups": "\(unloaded.groupIDs.count)",
            ])
    }

    /// Replays partition `partition`'s log into a scratch manager (transactional offset commits wait for their
    /// marker: a COMMIT replays them, an ABORT drops them) and installs it if the partition is still loading at
    /// `epoch`. Blocking (reads the log).
    private func load(partition: Int32, epoch: LeaderEpoch, partitionCount: Int32) {
        let begun = state.withLockedValue { state in
            state.partitionCount = partitionCount
            return state.manager.beginLoading(partition: partition, epoch: epoch)
        }
        guard begun else { return }
        let now = clock.nowMilliseconds()
        var loaded = state.withLockedValue { GroupManager(configuration: $0.manager.configuration) }
        var pending = PendingTransactionalOffsets()
        var replayed = 0
        do {
            try internalTopic.forEachBatch(of: partition, in: replicas) { batch in
                if batch.isControl {
                    guard let marker = TransactionMarker(controlBatch: batch) else { return }
                    for record in pending.complete(producerID: batch.producerID, partition: partition)
                    where marker.isCommit {
                        try? loaded.replay(key: record.key, value: record.value, now: now)
                    }
                    return
                }
                for record in try batch.records() {
                    guard let key = record.key else { continue }
                    if batch.isTransactional {
                        if let offsetKey = GroupManager.offsetCommitKey(key) {
                            pending.add(
                                producerID: batch.producerID, partition: partition, groupID: offsetKey.groupID,
                                key: offsetKey.partition,
                                record: GroupRecord(groupID: offsetKey.groupID, key: key, value: record.value))
                        }
                        continue
                    }
                    do {
                        try loaded.replay(key: key, value: record.value, now: now)
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
            state.withLockedValue { $0.manager.abandonLoading(partition: partition, epoch: epoch) }
            logger.error(
                "loading groups failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
            return
        }
        let installed = state.withLockedValue { state in
            // Markers that landed while the log was read complete what it found.
            for completion in state.completionsDuringLoad.removeValue(forKey: partition) ?? [] {
                for record in pending.complete(producerID: completion.producerID, partition: partition)
                where completion.commit {
                    try? loaded.replay(key: record.key, value: record.value, now: now)
                }
            }
            guard
                state.manager.completeLoading(
                    partition: partition, epoch: epoch, from: loaded, partitionCount: partitionCount)
            else { return false }
            state.pendingOffsets.adopt(pending, partition: partition)
            return true
        }
        guard installed else { return }
        logger.info(
            "groups loaded",
            metadata: [
                "partition": "\(partition)", "epoch": "\(epoch)", "records": "\(replayed)",
                "groups": "\(Set(loaded.groups.keys).union(loaded.offsets.keys).count)",
            ])
    }

    /// Session expiry, rebalance and initial delays, offset expiry, consumer-group deadlines: run every
    /// `tickIntervalMs` by `GroupCoordinatorService`, on the I/O thread pool (it appends).
    func tick() {
        let now = clock.nowMilliseconds()
        let settled = passes.withLockedValue { $0.settledOffset }
        if settled != metadata.publisher.image.lastAppliedOffset { scheduleLeadershipPass() }
        perform { state in
            let outputs = state.manager.tick(now: now)
            if now - state.lastExpiry >= configuration.offsetsRetentionCheckIntervalMs {
                state.lastExpiry = now
                let expired = state.manager.expireOffsets(now: now)
                if !expired.isEmpty, appendRecords(expired, now: now) == .none {
                    for record in expired { try? state.manager.replay(key: record.key, value: record.value, now: now) }
                    logger.info("expired offsets", metadata: ["records": "\(expired.count)"])
                }
            }
            return outputs
        }
        // Consumer groups: only when a member deadline passed or the topics may have changed (the metadata image
        // moved), since checking subscriptions matches every regular expression against every topic.
        let imageOffset = metadata.publisher.image.lastAppliedOffset
        let due = state.withLockedValue { state in
            (state.manager.nextConsumerDeadline.map { $0 <= now } ?? false)
                || imageOffset != state.consumerTickImageOffset
        }
        guard due else { return }
        let topics = assignableTopics()
        state.withLockedValue { state in
            state.consumerTickImageOffset = imageOffset
            let change = state.manager.planConsumerTick(now: now, topics: topics)
            guard !change.groups.isEmpty else { return }
            if appendRecords(change.records, now: now) == .none { state.manager.applyConsumerChange(change) }
        }
    }

    // MARK: The consumer protocol (KIP-848)

    /// The topics a consumer group may be assigned: every topic but the internal ones, by name.
    private func assignableTopics() -> [String: AssignableTopic] {
        var topics = [String: AssignableTopic]()
        for (name, topic) in metadata.publisher.image.topicsByName where !topic.isInternal {
            topics[name] = AssignableTopic(topicID: topic.topicID, partitionCount: Int32(topic.partitions.count))
        }
        return topics
    }

    /// ConsumerGroupHeartbeat: planned under the lock, its records appended, and only then applied and answered.
    func consumerHeartbeat(_ request: ConsumerGroupHeartbeatRequest, clientID: String, clientHost: String)
        -> ConsumerGroupHeartbeatResponse
    {
        let now = clock.nowMilliseconds()
        let context = ConsumerGroupManager.HeartbeatContext(
            newMemberID: KafkaUUID.random().description, topics: assignableTopics(), now: now, clientID: clientID,
            clientHost: clientHost
        )
        return state.withLockedValue { state in
            let serving = request.groupID.isEmpty ? .none : servingError(request.groupID, in: state)
            guard serving == .none else {
                return ConsumerGroupHeartbeatResponse(errorCode: serving.rawValue, memberEpoch: -1)
            }
            let change = state.manager.planConsumerHeartbeat(request, context: context)
            let error = appendRecords(change.records, now: now)
            guard error == .none else {
                return ConsumerGroupHeartbeatResponse(
                    errorCode: error.rawValue, errorMessage: "The coordinator could not store the change.",
                    memberEpoch: -1)
            }
            state.manager.applyConsumerChange(change)
            return change.response
        }
    }

    func describeConsumerGroups(_ groupIDs: [String]) -> [ConsumerGroupDescribeResponse.DescribedGroup] {
        let image = metadata.publisher.image
        var names = [KafkaUUID: String]()
        for (name, topic) in image.topicsByName { names[topic.topicID] = name }
        return state.withLockedValue { state in
            groupIDs.map { state.manager.describeConsumerGroup($0, topicNames: names) }
        }
    }

    func validateOffsetFetch(groupID: String, memberID: String?, memberEpoch: Int32) -> ErrorCode {
        state.withLockedValue {
            $0.manager.validateOffsetFetch(groupID: groupID, memberID: memberID, memberEpoch: memberEpoch)
        }
    }

    // MARK: Requests

    /// Registers promises, runs `body` under the lock, appends its records, then answers outside the lock.
    @discardableResult
    private func perform(_ body: (inout State) -> GroupOutputs) -> ErrorCode {
        let (answers, error) = state.withLockedValue { state -> ([() -> Void], ErrorCode) in
            let outputs = body(&state)
            let error = appendRecords(outputs.records, now: clock.nowMilliseconds())
            return (takeAnswers(outputs, from: &state), error)
        }
        for answer in answers { answer() }
        return error
    }

    /// The waiting promises `outputs` answers, removed from the state, to be completed outside the lock.
    private func takeAnswers(_ outputs: GroupOutputs, from state: inout State) -> [() -> Void] {
        var answers = [() -> Void]()
        for (id, response) in outputs.joinResponses {
            if let promise = state.joinPromises.removeValue(forKey: id) {
                answers.append { promise.succeed(response) }
            }
        }
        for (id, response) in outputs.syncResponses {
            if let promise = state.syncPromises.removeValue(forKey: id) {
                answers.append { promise.succeed(response) }
            }
        }
        return answers
    }

    func join(
        _ request: JoinGroupRequest, clientID: String, clientHost: String, version: Int16,
        promise: EventLoopPromise<JoinGroupResponse>
    ) {
        let now = clock.nowMilliseconds()
        let newMemberID = "\(clientID)-\(UUID().uuidString.lowercased())"
        var refused = ErrorCode.none
        perform { state in
            refused = servingError(request.groupID, in: state)
            guard refused == .none else { return GroupOutputs() }
            state.nextRequestID += 1
            state.joinPromises[state.nextRequestID] = promise
            let context = JoinContext(
                requestID: state.nextRequestID, version: version, clientID: clientID, clientHost: clientHost,
                newMemberID: newMemberID,
                now: now
            )
            return state.manager.join(request, context: context)
        }
        if refused != .none {
            promise.succeed(
                JoinGroupResponse(
                    errorCode: refused.rawValue, generationID: -1, protocolName: nil, leader: "",
                    memberID: request.memberID))
        }
    }

    func sync(_ request: SyncGroupRequest, promise: EventLoopPromise<SyncGroupResponse>) {
        let now = clock.nowMilliseconds()
        var refused = ErrorCode.none
        perform { state in
            refused = servingError(request.groupID, in: state)
            guard refused == .none else { return GroupOutputs() }
            state.nextRequestID += 1
            state.syncPromises[state.nextRequestID] = promise
            return state.manager.sync(request, requestID: state.nextRequestID, now: now)
        }
        if refused != .none {
            promise.succeed(SyncGroupResponse(errorCode: refused.rawValue, assignment: ByteBuffer()))
        }
    }

    func heartbeat(_ request: HeartbeatRequest) -> ErrorCode {
        let now = clock.nowMilliseconds()
        return state.withLockedValue {
            let serving = servingError(request.groupID, in: $0)
            guard serving == .none else { return serving }
            return $0.manager.heartbeat(
                groupID: request.groupID, memberID: request.memberID, instanceID: request.groupInstanceID,
                generationID: request.generationID, now: now)
        }
    }

    func leave(groupID: String, members: [GroupManager.LeavingMember]) -> [ErrorCode] {
        let now = clock.nowMilliseconds()
        var errors = [ErrorCode]()
        perform { state in
            let serving = servingError(groupID, in: state)
            guard serving == .none else {
                errors = members.map { _ in serving }
                return GroupOutputs()
            }
            let result = state.manager.leave(groupID: groupID, members: members, now: now)
            errors = result.errors
            return result.outputs
        }
        return errors
    }

    /// OffsetCommit: records appended before the answer; the state changes by replaying them.
    func commit(
        groupID: String, generationID: Int32, memberID: String, instanceID: String?,
        entries: [GroupManager.OffsetCommitEntry]
    ) -> [ErrorCode] {
        let now = clock.nowMilliseconds()
        let image = metadata.publisher.image
        return state.withLockedValue { state in
            let serving = servingError(groupID, in: state)
            guard serving == .none else { return entries.map { _ in serving } }
            let result = state.manager.commitOffsets(
                groupID: groupID, generationID: generationID, memberID: memberID, instanceID: instanceID,
                entries: entries, now: now
            ) { key in
                image.topic(named: key.topic)?.partitions.contains { $0.index == key.partition } ?? false
            }
            return applyCommand(result.records, answer: result.answer, to: &state.manager, now: now) {
                errors, failure in
                errors.map { $0 == .none ? failure : $0 }
            }
        }
    }

    /// TxnOffsetCommit: the records are appended to the group's partition as part of the producer's transaction
    /// (a transactional batch with its producer id and epoch, so a fenced producer's commit is refused by the
    /// partition) and wait there for the transaction's marker (`completeTransaction`).
    func transactionalCommit(
        groupID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, generationID: Int32, memberID: String,
        instanceID: String?,
        entries: [GroupManager.OffsetCommitEntry]
    ) -> [ErrorCode] {
        let now = clock.nowMilliseconds()
        let image = metadata.publisher.image
        return state.withLockedValue { state in
            let serving = servingError(groupID, in: state)
            guard serving == .none else { return entries.map { _ in serving } }
            let result = state.manager.commitOffsets(
                groupID: groupID, generationID: generationID, memberID: memberID, instanceID: instanceID,
                entries: entries, now: now,
                transactional: true
            ) { key in
                image.topic(named: key.topic)?.partitions.contains { $0.index == key.partition } ?? false
            }
            guard !result.records.isEmpty else { return result.answer }
            guard let partition = partition(for: groupID) else {
                return result.answer.map { $0 == .none ? .coordinatorNotAvailable : $0 }
            }
            let error = appendRecords(result.records, now: now, transaction: (producerID, producerEpoch))
            guard error == .none else { return result.answer.map { $0 == .none ? error : $0 } }
            for record in result.records {
                guard let key = GroupManager.offsetCommitKey(record.key) else { continue }
                state.pendingOffsets.add(
                    producerID: producerID, partition: partition, groupID: groupID, key: key.partition, record: record)
            }
            return result.answer
        }
    }

    /// A transaction's marker was written to `__consumer_offsets` partition `partition`: its offsets there become
    /// committed offsets (COMMIT) or are dropped (ABORT).
    func completeTransaction(producerID: ProducerID, partition: Int32, commit: Bool) {
        let now = clock.nowMilliseconds()
        state.withLockedValue { state in
            if state.manager.partitions.status(of: partition) == .loading {
                state.completionsDuringLoad[partition, default: []].append((producerID, commit))
            }
            for record in state.pendingOffsets.complete(producerID: producerID, partition: partition) where commit {
                do {
                    try state.manager.replay(key: record.key, value: record.value, now: now)
                } catch {
                    preconditionFailure("a record the coordinator wrote does not decode: \(error)")
                }
            }
        }
    }

    /// Whether an open transaction has committed an offset for the group (for `partition`, or any when nil):
    /// OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT for it.
    func hasPendingTransactionalOffsets(groupID: String, partition: TopicPartition?) -> Bool {
        state.withLockedValue {
            !$0.pendingOffsets.isEmpty && $0.pendingOffsets.isPending(groupID: groupID, partition: partition)
        }
    }

    func fetchOffsets(groupID: String, partitions: [TopicPartition]?) -> [(TopicPartition, CommittedOffset?)] {
        state.withLockedValue { $0.manager.fetchOffsets(groupID: groupID, partitions: partitions) }
    }

    func deleteOffsets(groupID: String, partitions: [TopicPartition]) -> (ErrorCode, [ErrorCode]) {
        let now = clock.nowMilliseconds()
        return state.withLockedValue { state in
            let serving = servingError(groupID, in: state)
            guard serving == .none else { return (serving, partitions.map { _ in ErrorCode.none }) }
            let result = state.manager.deleteOffsets(groupID: groupID, partitions: partitions)
            return applyCommand(result.records, answer: result.answer, to: &state.manager, now: now) {
                answer, failure in (failure, answer.1)
            }
        }
    }

    func deleteGroups(_ groupIDs: [String]) -> [ErrorCode] {
        let now = clock.nowMilliseconds()
        return state.withLockedValue { state in
            let refusals = groupIDs.map { servingError($0, in: state) }
            let served = zip(groupIDs, refusals).filter { $0.1 == .none }.map(\.0)
            let result = state.manager.deleteGroups(served)
            var answers = applyCommand(result.records, answer: result.answer, to: &state.manager, now: now) {
                errors, failure in
                errors.map { $0 == .none ? failure : $0 }
            }.makeIterator()
            return refusals.map { $0 == .none ? (answers.next() ?? .unknownServerError) : $0 }
        }
    }

    func listGroups(statesFilter: [String], typesFilter: [String]) -> [GroupManager.GroupListing] {
        state.withLockedValue { $0.manager.listGroups(statesFilter: statesFilter, typesFilter: typesFilter) }
    }

    func describe(groupID: String) -> DescribeGroupsResponse.DescribedGroup {
        state.withLockedValue { $0.manager.describe(groupID: groupID) }
    }

    /// What `/metrics` reports of the coordinator: every group's committed offsets (for lag), how many groups it
    /// knows, and the JoinGroup/SyncGroup answers waiting for a rebalance (its purgatory).
    func metricsSnapshot() -> (
        offsets: [String: [TopicPartition: CommittedOffset]], groupCount: Int, waitingJoins: Int, waitingSyncs: Int
    ) {
        state.withLockedValue { state in
            let groupCount = Set(state.manager.groups.keys).union(state.manager.offsets.keys).count
            return (state.manager.offsets, groupCount, state.joinPromises.count, state.syncPromises.count)
        }
    }

    // MARK: Appending

    /// Appends a command's records and replays them into `manager`; if the append fails the answer says so
    /// (`failed`). Called with the state lock held.
    private func applyCommand<Answer>(
        _ records: [GroupRecord], answer: Answer, to manager: inout GroupManager, now: Int64,
        failed: (Answer, ErrorCode) -> Answer
    ) -> Answer {
        guard !records.isEmpty else { return answer }
        let error = appendRecords(records, now: now)
        guard error == .none else { return failed(answer, error) }
        for record in records {
            do {
                try manager.replay(key: record.key, value: record.value, now: now)
            } catch {
                preconditionFailure("a record the coordinator wrote does not decode: \(error)")
            }
        }
        return answer
    }

    /// Appends records to their groups' partitions, one batch per partition; with `transaction`, as that
    /// producer's transactional batch. Called with the state lock held.
    private func appendRecords(
        _ records: [GroupRecord], now: Int64, transaction: (producerID: ProducerID, epoch: Int16)? = nil
    ) -> ErrorCode {
        guard !records.isEmpty else { return .none }
        var byPartition: [Int32: [GroupRecord]] = [:]
        var order: [Int32] = []
        for record in records {
            guard let partition = partition(for: record.groupID) else { return .coordinatorNotAvailable }
            if byPartition[partition] == nil { order.append(partition) }
            byPartition[partition, default: []].append(record)
        }
        for partition in order {
            let error = internalTopic.append(
                byPartition[partition]!.map { ($0.key, $0.value) }, to: partition, in: replicas, now: now,
                transaction: transaction, logger: logger
            )
            guard error == .none else { return error }
        }
        return .none
    }
}
