import FjordController
import FjordReplication
import FjordSecurity
import FjordStorage
import KafkaProtocol
import NIOCore

/// One Fetch request from arrival to answer: resolves the fetch session, reads every partition, and either
/// answers or parks until an append brings `min_bytes`, or `max_wait_ms` passes. Runs on its connection's event
/// loop (wake-ups from other threads hop onto it), so its state is confined to that loop; only the loading of a
/// cold segment's indexes runs on the I/O thread pool.
final class FetchOperation {
    private let request: FetchRequest
    private let context: RequestContext
    private let services: BrokerServices
    private let promise: EventLoopPromise<ResponseBody?>
    private var eventLoop: any EventLoop { context.eventLoop }
    private var version: Int16 { context.apiVersion }

    /// The partitions to read, in response order, with the session's view of them.
    private var partitions: [FetchSessionCache.CachedPartition] = []
    /// Names for topic ids the image did not know (v13+): answered with UNKNOWN_TOPIC_ID.
    private var unknownTopicIDs: Set<KafkaUUID> = []
    private var session: FetchSessionCache.Session?
    private var isIncremental = false
    private var responseSessionID: Int32 = 0
    private var done = false
    private var waiterIDs: [(PartitionReplica, UInt64)] = []
    /// Counted in the fetch purgatory gauge (parked at least once and not answered yet).
    private var isParked = false
    private var timeout: Scheduled<Void>?
    /// READ on each topic, decided once per request (a parked fetch reads again).
    private var mayRead: [String: Bool] = [:]

    init(
        request: FetchRequest, context: RequestContext, services: BrokerServices,
        promise: EventLoopPromise<ResponseBody?>
    ) {
        self.request = request
        self.context = context
        self.services = services
        self.promise = promise
    }

    func start() {
        if let error = resolveSession() {
            services.metrics.countFetchError(error)
            return finish(FetchResponseWriter(version: version).encode(errorCode: error, sessionID: 0, topics: []))
        }
        // A read from a sealed segment nobody has read since start-up loads its indexes first (file I/O, maybe a
        // rebuild): that happens on the I/O thread pool, and the fetch goes on on its loop once it is done.
        let cold = coldLogs()
        guard cold.isEmpty else {
            services.blocking(on: eventLoop) {
                for (log, offset) in cold { try? log.prepareRead(from: offset) }
            }.whenComplete { [bound = NIOLoopBound(self, eventLoop: eventLoop)] _ in bound.value.begin() }
            return
        }
        begin()
    }

    private func begin() {
        attempt(final: request.maxWaitMs <= 0)
        guard !done else { return }
        timeout = eventLoop.scheduleTask(in: .milliseconds(Int64(request.maxWaitMs))) {
            [bound = NIOLoopBound(self, eventLoop: eventLoop)] in
            bound.value.attempt(final: true)
        }
    }

    /// The logs whose read from the requested offset would first load a segment's indexes.
    private func coldLogs() -> [(PartitionLog, Int64)] {
        partitions.compactMap { cached in
            guard let log = services.replicas.replica(for: cached.topicPartition)?.log,
                cached.fetchOffset >= log.logStartOffset, cached.fetchOffset < log.logEndOffset,
                !log.isReadyToRead(from: cached.fetchOffset)
            else { return nil }
            return (log, cached.fetchOffset)
        }
    }

    // MARK: Sessions

    private func resolveSession() -> ErrorCode? {
        let image = services.image
        let requested = requestedPartitions(image: image)
        let id = request.sessionID
        let epoch = request.sessionEpoch
        guard version >= 7 else {
            partitions = requested
            return nil
        }
        switch (id, epoch) {
        case (0, -1):
            partitions = requested  // a full fetch without a session
        case (0, 0):
            partitions = requested
            session = services.fetchSessions.create(partitions: requested)
            responseSessionID = session?.id ?? 0
        case (0, _):
            // An incremental fetch of no session: there is no session 0 to find (Kafka answers the same).
            return .fetchSessionIDNotFound
        case (_, -1):
            services.fetchSessions.remove(id: id)  // the client closes its session; this is a full fetch
            partitions = requested
        case (_, 0):
            // A client with a session asks for a new one: drop the old.
            services.fetchSessions.remove(id: id)
            partitions = requested
            session = services.fetchSessions.create(partitions: requested)
            responseSessionID = session?.id ?? 0
        default:
            switch services.fetchSessions.claim(id: id, epoch: epoch) {
            case .notFound: return .fetchSessionIDNotFound
            case .wrongEpoch: return .invalidFetchSessionEpoch
            case .found(var existing):
                for update in requested {
                    if let index = existing.partitions.firstIndex(where: { $0.topicPartition == update.topicPartition })
                    {
                        existing.partitions[index].fetchOffset = update.fetchOffset
                        existing.partitions[index].maxBytes = update.maxBytes
                        existing.partitions[index].currentLeaderEpoch = update.currentLeaderEpoch
                        existing.partitions[index].lastFetchedEpoch = update.lastFetchedEpoch
                        existing.partitions[index].replicaLogStartOffset = update.replicaLogStartOffset
                    } else {
                        existing.partitions.append(update)
                    }
                }
                for forgotten in request.forgottenTopicsData {
                    let name = version >= 13 ? image.topic(id: forgotten.topicID)?.name : forgotten.topic
                    existing.partitions.removeAll { cached in
                        (cached.topicPartition.topic == name || (version >= 13 && cached.topicID == forgotten.topicID))
                            && forgotten.partitions.contains(cached.topicPartition.partition)
                    }
                }
                if existing.partitions.isEmpty {
                    // Everything forgotten: the session ends, and the answer is a sessionless one with nothing in
                    // it, as Kafka answers.
                    services.fetchSessions.remove(id: id)
                    partitions = []
                    return nil
                }
                session = existing
                partitions = existing.partitions
                isIncremental = true
                responseSessionID = id
            }
        }
        return nil
    }

    private func requestedPartitions(image: MetadataImage) -> [FetchSessionCache.CachedPartition] {
        var result = [FetchSessionCache.CachedPartition]()
        for topic in request.topics {
            var name = topic.topic
            if version >= 13 {
                guard let known = image.topic(id: topic.topicID) else {
                    unknownTopicIDs.insert(topic.topicID)
                    name = ""
                    for partition in topic.partitions {
                        result.append(
                            .init(
                                topicPartition: TopicPartition("", partition.partition), topicID: topic.topicID,
                                fetchOffset: partition.fetchOffset, maxBytes: partition.partitionMaxBytes,
                                currentLeaderEpoch: partition.currentLeaderEpoch))
                    }
                    continue
                }
                name = known.name
            }
            let topicID = image.topic(named: name)?.topicID ?? topic.topicID
            for partition in topic.partitions {
                result.append(
                    .init(
                        topicPartition: TopicPartition(name, partition.partition), topicID: topicID,
                        fetchOffset: partition.fetchOffset, maxBytes: partition.partitionMaxBytes,
                        currentLeaderEpoch: partition.currentLeaderEpoch,
                        lastFetchedEpoch: version >= 12 ? partition.lastFetchedEpoch : -1,
                        replicaLogStartOffset: partition.logStartOffset
                    ))
            }
        }
        return result
    }

    // MARK: Reading

    private struct PartitionResult {
        var cached: FetchSessionCache.CachedPartition
        var data: FetchResponse.PartitionData
        var slice: FileSlice?
        /// The last offset of the last batch in `slice`.
        var lastOffset: Int64?
        var isError: Bool { data.errorCode != 0 }
        /// A DivergingEpoch answer (KIP-320) or a preferred read replica (KIP-392): like an error, it is news and is
        /// answered at once.
        var isDiverging: Bool { data.divergingEpoch.endOffset >= 0 || data.preferredReadReplica >= 0 }
    }

    /// Reads every partition; answers if there is enough (or this is the last chance), else parks.
    ///
    /// Parking registers the waiters first and then reads once more: an append that lands between the first read
    /// and the registration wakes nobody, so only a read after the registration can see it (a lost wake-up would
    /// leave the consumer waiting the full `max_wait_ms`).
    private func attempt(final: Bool) {
        guard !done else { return }
        if answerIfSatisfied(final: final) { return }
        park()
        _ = answerIfSatisfied(final: false)
    }

    /// Reads every partition and answers when the read satisfies the request; returns whether it answered.
    private func answerIfSatisfied(final: Bool) -> Bool {
        var results = [PartitionResult]()
        var remaining = Int(max(0, request.maxBytes))
        var totalBytes = 0
        var anyError = false
        for cached in partitions {
            let result = read(cached, budget: remaining, isFirstWithData: totalBytes == 0)
            if let slice = result.slice {
                totalBytes += slice.length
                remaining = max(0, remaining - slice.length)
            }
            anyError = anyError || result.isError || result.isDiverging
            results.append(result)
        }
        let satisfied = final || totalBytes >= Int(request.minBytes) || anyError || partitions.isEmpty
        guard satisfied else { return false }
        count(results)
        finish(encode(results))
        return true
    }

    private func read(_ cached: FetchSessionCache.CachedPartition, budget: Int, isFirstWithData: Bool)
        -> PartitionResult
    {
        var data = FetchResponse.PartitionData(partitionIndex: cached.topicPartition.partition)
        data.highWatermark = -1
        data.lastStableOffset = -1
        data.logStartOffset = -1
        if unknownTopicIDs.contains(cached.topicID) && version >= 13 && services.image.topic(id: cached.topicID) == nil
        {
            data.errorCode = ErrorCode.unknownTopicID.rawValue
            return PartitionResult(cached: cached, data: data)
        }
        if followerID == nil, services.authorizer != nil, !mayRead(cached.topicPartition.topic) {
            data.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
            return PartitionResult(cached: cached, data: data)
        }
        // A consumer of Fetch v11+ may read from a follower (KIP-392), up to its high watermark, or for
        // read_committed its last stable offset (followers keep the producer state, as leaders do).
        let consumerMayUseFollower = followerID == nil && version >= 11
        let servesAsFollower = { (replica: PartitionReplica) in consumerMayUseFollower && replica.isFollower }
        guard let replica = services.replicas.replica(for: cached.topicPartition),
            replica.isLeader || servesAsFollower(replica)
        else {
            // Another broker's partition (or one this broker no longer leads): name its leader (KIP-951, v12+).
            let image = services.image
            var leaders = PartitionLeaders(
                image: image, liveBrokers: services.metadata.liveBrokers(image, listener: context.listenerName))
            guard let leader = leaders.current(cached.topicPartition) else {
                data.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                return PartitionResult(cached: cached, data: data)
            }
            data.errorCode = ErrorCode.notLeaderOrFollower.rawValue
            if version >= 12 { data.currentLeader = .init(leaderID: leader.leaderID, leaderEpoch: leader.leaderEpoch) }
            return PartitionResult(cached: cached, data: data)
        }
        if let follower = followerID {
            return readForFollower(
                follower, cached, replica: replica, data: data, budget: budget,
                isFirstWithData: isFirstWithData)
        }
        let epoch = replica.leaderEpoch
        if version >= 9, cached.currentLeaderEpoch >= 0, cached.currentLeaderEpoch != epoch {
            data.errorCode =
                (cached.currentLeaderEpoch < epoch ? ErrorCode.fencedLeaderEpoch : .unknownLeaderEpoch).rawValue
            return PartitionResult(cached: cached, data: data)
        }
        let (lastStable, highWatermark) = replica.offsets
        let readCommitted = request.isolationLevel == 1
        data.highWatermark = highWatermark
        data.lastStableOffset = lastStable
        data.logStartOffset = replica.log.logStartOffset
        if replica.isLeader, version >= 11, !request.rackID.isEmpty {
            let image = services.image
            if let preferred = replica.preferredReadReplica(
                selector: services.configuration.replicaSelector, clientRack: request.rackID,
                fetchOffset: cached.fetchOffset, rackOf: { image.brokerRegistrations[$0]?.rack })
            {
                // The consumer should fetch from a replica in its rack: no records, the replica named (KIP-392).
                data.preferredReadReplica = preferred
                return PartitionResult(cached: cached, data: data)
            }
        }
        if cached.lastFetchedEpoch >= 0 {
            // KIP-320: the client's log must be a prefix of this one (after an unclean election it may not be).
            let check = replica.log.leaderEpochHistory.check(
                lastFetchedEpoch: cached.lastFetchedEpoch, fetchOffset: cached.fetchOffset,
                logStartOffset: data.logStartOffset, logEndOffset: replica.log.logEndOffset)
            switch check {
            case .valid:
                break
            case .outOfRange:
                data.errorCode = ErrorCode.offsetOutOfRange.rawValue
                return PartitionResult(cached: cached, data: data)
            case .diverging(let end):
                data.divergingEpoch = .init(epoch: end.epoch, endOffset: end.endOffset)
                return PartitionResult(cached: cached, data: data)
            }
        }
        data.abortedTransactions = readCommitted ? [] : nil
        let bound = readCommitted ? lastStable : highWatermark
        let limit = min(Int(max(0, cached.maxBytes)), budget)
        do {
            let read = try replica.log.read(
                from: cached.fetchOffset, maximumBytes: limit, upperBound: bound,
                minimumOneBatch: isFirstWithData && cached.maxBytes > 0
            )
            data.logStartOffset = read.logStartOffset
            if readCommitted, let last = read.lastBatchOffset {
                // The aborted transactions overlapping what is returned, so the consumer can drop their records.
                // Only the small list is built here; the records still go out as a file slice.
                data.abortedTransactions = try replica.abortedTransactions(
                    from: cached.fetchOffset, upperBound: last + 1
                ).map {
                    FetchResponse.AbortedTransaction(producerID: $0.producerID, firstOffset: $0.firstOffset)
                }
            }
            return PartitionResult(cached: cached, data: data, slice: read.slice, lastOffset: read.lastBatchOffset)
        } catch {
            return Self.failedRead(error, cached, data)
        }
    }

    /// A read the log refused: OFFSET_OUT_OF_RANGE for an offset outside it, KAFKA_STORAGE_ERROR for anything else.
    private static func failedRead(
        _ error: LogError, _ cached: FetchSessionCache.CachedPartition, _ data: FetchResponse.PartitionData
    ) -> PartitionResult {
        var data = data
        data.errorCode = (error.code == .offsetOutOfRange ? ErrorCode.offsetOutOfRange : .kafkaStorageError).rawValue
        return PartitionResult(cached: cached, data: data)
    }

    // MARK: Followers

    /// The broker id of a follower replica fetching (Fetch's ReplicaId before v15, ReplicaState from v15), nil for a
    /// consumer.
    private var followerID: NodeID? {
        let id = version >= 15 ? request.replicaState.replicaID : request.replicaID
        return id >= 0 ? id : nil
    }

    /// A follower's read: the leader's replication core checks the fetch (epochs, the follower's divergence) and
    /// records the follower's position, which may move the high watermark; the records go up to the leader's log
    /// end, not its high watermark, from the same file regions as a consumer's.
    /// Whether the consumer may READ `topic` (Kafka's check of a consumer's Fetch).
    private func mayRead(_ topic: String) -> Bool {
        if let known = mayRead[topic] { return known }
        let allowed = services.authorize(context, .read, .topic, topic)
        mayRead[topic] = allowed
        return allowed
    }

    private func readForFollower(
        _ follower: NodeID, _ cached: FetchSessionCache.CachedPartition, replica: PartitionReplica,
        data: FetchResponse.PartitionData, budget: Int, isFirstWithData: Bool
    ) -> PartitionResult {
        var data = data
        let fetch = FollowerFetch(
            replicaID: follower, brokerEpoch: version >= 15 ? request.replicaState.replicaEpoch : -1,
            currentLeaderEpoch: version >= 9 && cached.currentLeaderEpoch >= 0 ? cached.currentLeaderEpoch : nil,
            fetchOffset: cached.fetchOffset,
            lastFetchedEpoch: cached.lastFetchedEpoch >= 0 ? cached.lastFetchedEpoch : nil,
            logStartOffset: cached.replicaLogStartOffset)
        let (answer, effects) = replica.answerFollowerFetch(fetch, now: PartitionReplica.replicationNow())
        services.replicas.dispatch(effects, of: replica)
        let positions: LeaderPositions
        switch answer {
        case .error(let code):
            data.errorCode = code.rawValue
            return PartitionResult(cached: cached, data: data)
        case .divergingEpoch(let end, let at):
            positions = at
            data.divergingEpoch = .init(epoch: end.epoch, endOffset: end.endOffset)
        case .records(_, let at):
            positions = at
        }
        data.highWatermark = positions.highWatermark
        data.logStartOffset = positions.logStartOffset
        data.lastStableOffset = replica.lastStableOffset
        guard case .records(let from, _) = answer else { return PartitionResult(cached: cached, data: data) }
        // A throttled replica out of the ISR gets no records while the leader's replication quota is exceeded.
        let throttles = services.replicationThrottles
        let now = PartitionReplica.replicationNow()
        if throttles.leaderHoldsBack(cached.topicPartition, follower: follower, now: now) {
            return PartitionResult(cached: cached, data: data)
        }
        do {
            let read = try replica.log.read(
                from: from, maximumBytes: min(Int(max(0, cached.maxBytes)), budget),
                upperBound: positions.logEndOffset, minimumOneBatch: isFirstWithData && cached.maxBytes > 0)
            throttles.leaderSent(cached.topicPartition, bytes: read.slice?.length ?? 0, now: now)
            return PartitionResult(cached: cached, data: data, slice: read.slice, lastOffset: read.lastBatchOffset)
        } catch {
            return Self.failedRead(error, cached, data)
        }
    }

    /// Bytes and offsets sent per topic, and partition errors, for `/metrics`: once per answer, per partition.
    private func count(_ results: [PartitionResult]) {
        let metrics = services.metrics
        var topic: (name: String, metrics: TopicMetrics)?
        for result in results {
            if result.isError { metrics.countFetchError(ErrorCode(rawValue: result.data.errorCode)) }
            guard let slice = result.slice else { continue }
            let name = result.cached.topicPartition.topic
            if topic?.name != name { topic = (name, metrics.topic(name)) }
            topic!.metrics.bytesOut.increment(by: slice.length)
            if let last = result.lastOffset {
                topic!.metrics.recordsOut.increment(by: max(0, last + 1 - result.cached.fetchOffset))
            }
        }
    }

    /// Registers a one-shot waiter on every partition read (the previous ones have fired or been cleared).
    private func park() {
        clearWaiters()
        if !isParked {
            isParked = true
            services.metrics.parkedFetches.increment()
        }
        var replicas = [PartitionReplica]()
        for cached in partitions {
            if let replica = services.replicas.replica(for: cached.topicPartition) { replicas.append(replica) }
        }
        let eventLoop = self.eventLoop
        // Appends wake from the I/O pool: the wake-up hops onto this fetch's loop, the only thread that touches it.
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        for replica in replicas {
            let id = replica.addWaiter {
                eventLoop.execute { bound.value.wake() }
            }
            waiterIDs.append((replica, id))
        }
    }

    private func wake() {
        clearWaiters()
        attempt(final: false)
    }

    private func clearWaiters() {
        for (replica, id) in waiterIDs { replica.removeWaiter(id) }
        waiterIDs.removeAll()
    }

    // MARK: Answering

    private func encode(_ results: [PartitionResult]) -> ResponseBody {
        var topics = [FetchResponseWriter.Topic]()
        var updatedSession = session
        for (index, result) in results.enumerated() {
            var cached = result.cached
            let changed =
                result.slice != nil || result.isError || result.isDiverging
                || cached.lastHighWatermark != result.data.highWatermark
                || cached.lastStableOffset != result.data.lastStableOffset
                || cached.lastLogStartOffset != result.data.logStartOffset
            cached.lastHighWatermark = result.data.highWatermark
            cached.lastStableOffset = result.data.lastStableOffset
            cached.lastLogStartOffset = result.data.logStartOffset
            if updatedSession != nil, index < updatedSession!.partitions.count {
                updatedSession!.partitions[index] = cached
            }
            // An incremental response lists only partitions with news.
            guard !isIncremental || changed else { continue }
            let partition = FetchResponseWriter.Partition(data: result.data, slice: result.slice)
            if let last = topics.last, last.name == cached.topicPartition.topic, last.topicID == cached.topicID {
                topics[topics.count - 1].partitions.append(partition)
            } else {
                topics.append(
                    .init(name: cached.topicPartition.topic, topicID: cached.topicID, partitions: [partition]))
            }
        }
        if let updatedSession { services.fetchSessions.update(updatedSession) }
        // The endpoints of the leaders named in NOT_LEADER_OR_FOLLOWER answers (KIP-951, v16+).
        let named = Set(topics.flatMap { $0.partitions.map(\.data.currentLeader.leaderID) }.filter { $0 >= 0 })
        let endpoints =
            named.isEmpty
            ? []
            : services.metadata.liveBrokers(services.image, listener: context.listenerName).filter {
                named.contains($0.nodeID)
            }
        // A consumer over its consumer_byte_rate quota is told how long to wait, and not read from for that long.
        var throttle: Int64 = 0
        if followerID == nil {
            let bytes = topics.reduce(0) { sum, topic in topic.partitions.reduce(sum) { $0 + ($1.slice?.length ?? 0) } }
            throttle = services.quotas.record(
                .fetch, bytes: bytes, principal: context.principal, clientID: context.header.clientID ?? "",
                now: services.clock.nowMilliseconds(), throttle: context.throttle)
        }
        return FetchResponseWriter(version: version).encode(
            throttleTimeMs: Int32(clamping: throttle), errorCode: .none, sessionID: responseSessionID, topics: topics,
            nodeEndpoints: endpoints.map { .init(nodeID: $0.nodeID, host: $0.host, port: $0.port, rack: $0.rack) })
    }

    private func finish(_ body: ResponseBody) {
        guard !done else { return }
        done = true
        if isParked {
            isParked = false
            services.metrics.parkedFetches.decrement()
        }
        timeout?.cancel()
        clearWaiters()
        promise.succeed(body)
    }
}
