import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Reads records from Kafka: either partitions the application `assign`s (no group), or the partitions a consumer
/// group gives this member after `subscribe` — with the classic protocol (JoinGroup/SyncGroup/Heartbeat,
/// client-side assignors) or the KIP-848 consumer protocol (ConsumerGroupHeartbeat, server-side assignors; see
/// `ConsumerConfiguration.groupProtocol`), both with rebalance callbacks.
///
/// The consumer is a `Service`: `run()` runs the fetch loop, the group heartbeat and auto-commit, and must be running
/// for `records` to yield anything. `close()` (or graceful shutdown) commits (auto mode), leaves the group and ends
/// `records`.
///
/// Positions: `position(of:)` is the offset of the next record `records` will deliver; commits (auto and `commit()`)
/// commit positions, so a record counts as consumed once the iterator returned it.
public actor Consumer: Service {
    /// The configuration the consumer was made with.
    public nonisolated let configuration: ConsumerConfiguration
    /// The client used for metadata and requests.
    public nonisolated let client: KafkaClient
    let logger: Logger

    /// Partitions this consumer reads now.
    var assignment: Set<TopicPartition> = []
    /// The offset of the next record to deliver, per assigned partition (nil until resolved).
    var positions: [TopicPartition: Int64] = [:]
    /// The offset to fetch next, per partition; ahead of `positions` by what is buffered.
    var fetchPositions: [TopicPartition: Int64] = [:]
    var paused: Set<TopicPartition> = []
    var buffer: [ConsumerRecord] = []
    var bufferHead = 0
    /// The reader suspended in `nextRecord`, in a box so that task cancellation (nonisolated) can resume it.
    nonisolated let readerWaiter = NIOLockedValueBox<CheckedContinuation<Void, any Error>?>(nil)
    var loopWaiter: CheckedContinuation<Void, Never>?
    var loopWakePending = false
    var closed = false
    /// Set when `close()` starts: the loops stop joining, fetching and heartbeating.
    var closing = false
    var fatalError: ClientError?

    // Group state (see Consumer+Group.swift).
    var subscription: Subscription?
    var rebalanceListener: RebalanceListener?
    var memberID = ""
    var generationID: Int32 = -1
    var protocolName: String?
    var needsRejoin = false
    /// Whether a JoinGroup/SyncGroup round is under way: heartbeats and auto-commits wait, since their answers
    /// (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION) describe the round in progress, not a new one.
    var rebalancing = false
    var coordinator: Int32?
    /// The topics named in the last JoinGroup, and when a pattern subscription was last matched against all topics.
    var joinedTopics: [String] = []
    var lastPatternCheck = ContinuousClock.now
    /// The KIP-848 member state (see Consumer+ConsumerProtocol.swift).
    var consumerProtocol = ConsumerProtocolState()

    /// What the consumer subscribed to.
    enum Subscription: Equatable {
        case topics(Set<String>)
        /// A regular expression (Swift `Regex` syntax) that must match a whole topic name.
        case pattern(String)
    }

    public init(configuration: ConsumerConfiguration, client: KafkaClient? = nil) {
        self.configuration = configuration
        self.client = client ?? KafkaClient(configuration: configuration.client)
        self.logger = configuration.client.logger
    }

    /// The delivered records; see `ConsumerRecords`.
    public nonisolated var records: ConsumerRecords { ConsumerRecords(consumer: self) }

    // MARK: Assignment without a group

    /// Reads exactly these partitions, without a group (replaces any previous assignment). Each starts at its
    /// committed offset when a group id is configured, else at `autoOffsetReset`, unless `seek`ed.
    public func assign(_ partitions: [TopicPartition]) throws {
        guard subscription == nil else {
            throw ClientError(.invalidArgument, "assign() after subscribe(): unsubscribe first", isRetriable: false)
        }
        setAssignment(Set(partitions))
    }

    func setAssignment(_ partitions: Set<TopicPartition>) {
        for removed in assignment.subtracting(partitions) {
            positions[removed] = nil
            fetchPositions[removed] = nil
            paused.remove(removed)
        }
        assignment = partitions
        purgeBuffer { !partitions.contains($0.topicPartition) }
        wakeLoop()
    }

    /// The partitions this consumer reads now.
    public func assignedPartitions() -> Set<TopicPartition> { assignment }

    // MARK: Positions

    /// The next record of `partition` delivered will be the one at `offset`.
    public func seek(_ partition: TopicPartition, to offset: Int64) throws {
        guard assignment.contains(partition) else {
            throw ClientError(
                .invalidArgument, "\(partition) is not assigned", isRetriable: false,
                topic: partition.topic, partition: partition.partition)
        }
        positions[partition] = offset
        fetchPositions[partition] = offset
        purgeBuffer { $0.topicPartition == partition }
        wakeLoop()
    }

    /// Moves partitions (all assigned when nil) to their first offset.
    public func seekToBeginning(_ partitions: [TopicPartition]? = nil) async throws {
        try await seek(partitions ?? Array(assignment), to: .earliest)
    }

    /// Moves partitions (all assigned when nil) to their end.
    public func seekToEnd(_ partitions: [TopicPartition]? = nil) async throws {
        try await seek(partitions ?? Array(assignment), to: .latest)
    }

    private func seek(_ partitions: [TopicPartition], to spec: KafkaClient.OffsetSpec) async throws {
        let found = await client.listOffsets(
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, spec) }),
            isolationLevel: configuration.isolationLevel.rawValue
        )
        for (partition, result) in found {
            try seek(partition, to: try result.get().offset)
        }
    }

    /// For each partition, the first offset whose timestamp is at or after the given time (nil when none is).
    public func offsetsForTimes(_ times: [TopicPartition: Int64]) async throws -> [TopicPartition: KafkaClient
        .ListedOffset?]
    {
        let found = await client.listOffsets(
            times.mapValues { .timestamp($0) }, isolationLevel: configuration.isolationLevel.rawValue
        )
        var result: [TopicPartition: KafkaClient.ListedOffset?] = [:]
        for (partition, answer) in found {
            let listed = try answer.get()
            result[partition] = listed.offset < 0 ? .some(nil) : listed
        }
        return result
    }

    /// The offset of the next record `records` will deliver from `partition`, resolving it (committed offset or
    /// reset policy) if it is not known yet.
    public func position(of partition: TopicPartition) async throws -> Int64 {
        guard assignment.contains(partition) else {
            throw ClientError(
                .invalidArgument, "\(partition) is not assigned", isRetriable: false,
                topic: partition.topic, partition: partition.partition)
        }
        if positions[partition] == nil { try await resolvePositions([partition]) }
        guard let position = positions[partition] else {
            throw ClientError(
                .metadata, "no position for \(partition)", topic: partition.topic, partition: partition.partition)
        }
        return position
    }

    /// The group's committed offsets for `partitions` (nil where nothing is committed).
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64?] {
        guard let group = configuration.groupID else {
            throw ClientError(.invalidArgument, "committed() needs a group id", isRetriable: false)
        }
        let answers = try await client.committedOffsets(group: group, partitions: partitions)
        var result: [TopicPartition: Int64?] = [:]
        for partition in partitions {
            let offset = try answers[partition]?.get().offset ?? -1
            result[partition] = offset >= 0 ? offset : .some(nil)
        }
        return result
    }

    /// Stops delivering and fetching records of partitions until `resume`. Records already buffered for them are
    /// dropped and fetched again after `resume`, from the position.
    public func pause(_ partitions: [TopicPartition]) {
        let newlyPaused = Set(partitions.filter(assignment.contains)).subtracting(paused)
        paused.formUnion(newlyPaused)
        purgeBuffer { newlyPaused.contains($0.topicPartition) }
        for partition in newlyPaused { fetchPositions[partition] = positions[partition] }
    }

    /// Fetches from paused partitions again.
    public func resume(_ partitions: [TopicPartition]) {
        paused.subtract(partitions)
        wakeLoop()
    }

    /// The paused partitions.
    public func pausedPartitions() -> Set<TopicPartition> { paused }

    // MARK: Delivery

    func nextRecord() async throws -> ConsumerRecord? {
        while true {
            if let fatalError { throw fatalError }
            if bufferHead < buffer.count {
                let record = buffer[bufferHead]
                bufferHead += 1
                if bufferHead > 1024 && bufferHead * 2 > buffer.count {
                    buffer.removeFirst(bufferHead)
                    bufferHead = 0
                }
                guard assignment.contains(record.topicPartition),
                    record.offset >= (positions[record.topicPartition] ?? 0)
                else { continue }
                positions[record.topicPartition] = record.offset + 1
                if bufferedCount < configuration.maxBufferedRecords { wakeLoop() }
                return record
            }
            if closed { return nil }
            try Task.checkCancellation()
            let slot = readerWaiter
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let busy = slot.withLockedValue { waiter -> Bool in
                        guard waiter == nil else { return true }
                        waiter = continuation
                        return false
                    }
                    if busy {
                        continuation.resume(
                            throwing: ClientError(
                                .invalidArgument, "records is already being iterated by another task",
                                isRetriable: false
                            )
                        )
                    }
                }
            } onCancel: {
                slot.withLockedValue { waiter in
                    waiter?.resume(throwing: CancellationError())
                    waiter = nil
                }
            }
            // Woken: look again (records were buffered, or the consumer closed).
        }
    }

    var bufferedCount: Int { buffer.count - bufferHead }

    /// Adds fetched records and wakes the reader.
    func deliver(_ records: [ConsumerRecord]) {
        guard !records.isEmpty else { return }
        buffer.append(contentsOf: records)
        wakeReader()
    }

    func wakeReader() {
        let waiter = readerWaiter.withLockedValue { waiter in
            defer { waiter = nil }
            return waiter
        }
        waiter?.resume()
    }

    func purgeBuffer(where shouldRemove: (ConsumerRecord) -> Bool) {
        buffer = buffer[bufferHead...].filter { !shouldRemove($0) }
        bufferHead = 0
    }

    func wakeLoop() {
        if let waiter = loopWaiter {
            loopWaiter = nil
            waiter.resume()
        } else {
            loopWakePending = true
        }
    }

    // MARK: Commits

    /// Commits the positions of every assigned partition (the records delivered so far).
    public func commit() async throws {
        let offsets = positions.filter { assignment.contains($0.key) }
        try await commit(offsets: offsets)
    }

    /// Commits the given offsets (each the offset of the next record to read).
    public func commit(offsets: [TopicPartition: Int64]) async throws {
        guard let group = configuration.groupID else {
            throw ClientError(.invalidArgument, "commit needs a group id", isRetriable: false)
        }
        var pending = offsets
        var staleRetries = 0
        while !pending.isEmpty {
            let results = try await client.commitOffsets(
                group: group, offsets: pending, generationID: commitGeneration,
                memberID: subscription == nil ? "" : memberID, groupInstanceID: configuration.groupInstanceID
            )
            // KIP-848: an epoch the coordinator moved past meanwhile; the next heartbeat brings the current one.
            let stale = results.filter {
                if case .failure(let error) = $0.value { return error.kafkaError == .staleMemberEpoch }
                return false
            }
            if !stale.isEmpty, staleRetries < 3, canAwaitNextHeartbeat {
                staleRetries += 1
                await awaitNextHeartbeat()
                pending = pending.filter { stale[$0.key] != nil }
                continue
            }
            for (_, result) in results.sorted(by: { $0.key < $1.key }) {
                if case .failure(let error) = result {
                    if let code = error.kafkaError,
                        code == .rebalanceInProgress || code == .illegalGeneration
                            || code == .unknownMemberID, subscription != nil, !rebalancing, !usesConsumerProtocol
                    {
                        requestRejoin()
                    }
                    throw error
                }
            }
            return
        }
    }

    // MARK: Lifecycle

    /// Commits (auto mode), leaves the group, stops the loop and ends `records`.
    public func close() async {
        guard !closed && !closing else { return }
        closing = true
        if case .auto = configuration.commitMode, configuration.groupID != nil {
            try? await commit()
        }
        if subscription != nil { await leaveGroup() }
        closed = true
        wakeLoop()
        wakeReader()
    }
}
