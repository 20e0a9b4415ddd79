import KafkaProtocol
import KafkaRecords
import NIOCore
import ServiceLifecycle

/// The fetch loop: resolves starting positions, sends one Fetch per leader, decodes batches and buffers records.
extension Consumer {
    /// Runs the fetch loop (and, in a group, heartbeats and auto-commit) until `close()` or graceful shutdown.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                guard (try? await gracefulShutdown()) != nil else { return }
                await self.close()
            }
            group.addTask { await self.client.refreshPeriodically() }
            if configuration.groupID != nil {
                group.addTask { try await self.heartbeatLoop() }
                if case .auto(let interval) = configuration.commitMode {
                    group.addTask { try await self.autoCommitLoop(interval: interval) }
                }
            }
            while !closed {
                do {
                    try await fetchOnce()
                } catch let error as ClientError where !error.isRetriable {
                    logger.error("consumer failed", metadata: ["error": "\(error)"])
                    fatalError = error
                    wakeReader()
                    closed = true
                } catch is CancellationError {
                    break
                } catch {
                    logger.debug("fetch round failed", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: configuration.client.retryBackoff)
                }
            }
            group.cancelAll()
        }
        wakeReader()
    }

    /// One round: keep the group membership current, resolve positions, fetch from every leader in parallel.
    private func fetchOnce() async throws {
        guard !closing else {
            await waitForLoopWake(timeout: .milliseconds(100))
            return
        }
        if subscription != nil && !usesConsumerProtocol { try await ensureActiveGroup() }
        let unresolved = assignment.filter { fetchPositions[$0] == nil }
        if !unresolved.isEmpty { try await resolvePositions(Array(unresolved)) }
        guard bufferedCount < configuration.maxBufferedRecords else {
            await waitForLoopWake(timeout: .milliseconds(200))
            return
        }
        let fetchable = assignment.subtracting(paused).filter { fetchPositions[$0] != nil }
        guard !fetchable.isEmpty else {
            await waitForLoopWake(timeout: .milliseconds(200))
            return
        }
        let metadata = try await client.metadata()
        // No suspension inside this loop: a rebalance, seek or pause may change the positions at any await.
        var byLeader: [Int32: [TopicPartition: Int64]] = [:]
        var leaderless: [String] = []
        for partition in fetchable {
            guard let position = fetchPositions[partition], assignment.contains(partition) else { continue }
            guard let leader = metadata.leader(of: partition) else {
                leaderless.append(partition.topic)
                continue
            }
            byLeader[leader, default: [:]][partition] = position
        }
        if !leaderless.isEmpty {
            await client.track(topics: leaderless)
            await client.invalidateMetadata()
        }
        guard !byLeader.isEmpty else {
            try await Task.sleep(for: configuration.client.retryBackoff)
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for (leader, offsets) in byLeader {
                group.addTask { await self.fetch(from: leader, offsets: offsets) }
            }
        }
    }

    private func waitForLoopWake(timeout: Duration) async {
        if loopWakePending {
            loopWakePending = false
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                await self.wakeLoop()
            }
            await withCheckedContinuation { loopWaiter = $0 }
            group.cancelAll()
        }
        loopWakePending = false
    }

    /// Fetches `offsets` from one leader and buffers what comes back (if the positions did not move meanwhile).
    private func fetch(from leader: Int32, offsets: [TopicPartition: Int64]) async {
        var request = FetchRequest()
        request.replicaID = -1
        request.replicaState = FetchRequest.ReplicaState(replicaID: -1, replicaEpoch: -1)
        request.maxWaitMs = configuration.fetchMaxWait.millisecondsInt32
        request.minBytes = configuration.fetchMinBytes
        request.maxBytes = configuration.fetchMaxBytes
        request.isolationLevel = configuration.isolationLevel.rawValue
        request.sessionID = 0
        request.sessionEpoch = -1
        request.topics = Dictionary(grouping: offsets.keys, by: \.topic).sorted { $0.key < $1.key }.map {
            topic, parts in
            FetchRequest.FetchTopic(
                topic: topic, topicID: .zero,
                partitions: parts.sorted().map {
                    FetchRequest.FetchPartition(
                        partition: $0.partition, currentLeaderEpoch: -1, fetchOffset: offsets[$0]!,
                        lastFetchedEpoch: -1, logStartOffset: -1,
                        partitionMaxBytes: configuration.maxPartitionFetchBytes
                    )
                }
            )
        }
        let response: FetchResponse
        do {
            response = try await client.send(
                request, to: leader, timeout: configuration.client.requestTimeout + configuration.fetchMaxWait
            )
        } catch {
            logger.debug("fetch failed", metadata: ["broker": "\(leader)", "error": "\(error)"])
            await client.invalidateMetadata()
            try? await Task.sleep(for: configuration.client.retryBackoff)
            return
        }
        if let error = ClientError.kafka(response.errorCode, "Fetch failed", broker: leader) {
            logger.debug("fetch error", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: configuration.client.retryBackoff)
            return
        }
        var resets: [TopicPartition: Int64?] = [:]
        for topic in response.responses {
            for data in topic.partitions {
                let partition = TopicPartition(topic.topic, data.partitionIndex)
                // Positions that moved (seek, pause, revocation) while the fetch was out make its data stale.
                guard let requested = offsets[partition], fetchPositions[partition] == requested,
                    !paused.contains(partition)
                else { continue }
                let code = ErrorCode(rawValue: data.errorCode)
                if code == .offsetOutOfRange {
                    resets[partition] = requested
                    continue
                }
                if code != .none {
                    if KafkaClient.isMetadataError(code) { await client.invalidateMetadata() }
                    logger.debug(
                        "partition fetch error", metadata: ["partition": "\(partition)", "code": "\(code.rawValue)"])
                    continue
                }
                do {
                    let (records, next) = try decode(data, partition: partition, from: requested)
                    fetchPositions[partition] = next
                    deliver(records)
                } catch {
                    fatalError = KafkaClient.asClientError(error, partition)
                    wakeReader()
                    return
                }
            }
        }
        if !resets.isEmpty {
            do {
                try await resetPositions(Array(resets.keys), ifStill: resets)
            } catch {
                logger.warning("offset reset failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Decodes the batches of one partition: skips records before `offset`, control batches and (read_committed)
    /// aborted transactions. Returns the records and the next offset to fetch.
    func decode(
        _ data: FetchResponse.PartitionData, partition: TopicPartition, from offset: Int64
    ) throws -> ([ConsumerRecord], Int64) {
        guard let bytes = data.records, bytes.readableBytes > 0 else { return ([], offset) }
        var next = offset
        var records: [ConsumerRecord] = []
        var aborted = (data.abortedTransactions ?? []).sorted { $0.firstOffset < $1.firstOffset }
        var abortedProducers: Set<Int64> = []
        var iterator = RecordBatchSequence(bytes, mode: .fetch).makeIterator()
        while let batch = try iterator.next() {
            if configuration.checkCRCs && !batch.isCRCValid {
                throw ClientError(
                    .records, "CRC mismatch in batch at offset \(batch.baseOffset)", isRetriable: false,
                    topic: partition.topic, partition: partition.partition
                )
            }
            defer { next = max(next, batch.nextOffset) }
            guard batch.nextOffset > offset else { continue }
            if configuration.isolationLevel == .readCommitted {
                while let first = aborted.first, first.firstOffset <= batch.lastOffset {
                    abortedProducers.insert(first.producerID)
                    aborted.removeFirst()
                }
                if batch.isControl {
                    abortedProducers.remove(batch.producerID)  // The transaction's marker ends it.
                    continue
                }
                if batch.isTransactional && abortedProducers.contains(batch.producerID) { continue }
            }
            if batch.isControl { continue }
            for record in try batch.records() where record.offset >= offset {
                records.append(
                    ConsumerRecord(
                        topicPartition: partition, offset: record.offset, timestamp: record.timestamp,
                        timestampType: batch.timestampType, key: record.key, value: record.value,
                        headers: record.headers, leaderEpoch: batch.partitionLeaderEpoch
                    )
                )
            }
        }
        return (records, next)
    }

    // MARK: Starting positions

    /// Sets positions from the group's committed offsets when there is a group, else (or where none is
    /// committed) from `autoOffsetReset`.
    func resolvePositions(_ partitions: [TopicPartition]) async throws {
        var missing = partitions
        if let group = configuration.groupID, !partitions.isEmpty {
            // KIP-848 members fetch as members (OffsetFetch v9 checks the member epoch).
            let asMember = usesConsumerProtocol && subscription != nil
            let committed: [TopicPartition: Result<KafkaClient.CommittedOffset, ClientError>]
            do {
                committed = try await client.committedOffsets(
                    group: group, partitions: partitions,
                    requireStable: configuration.isolationLevel == .readCommitted,
                    memberID: asMember ? memberID : nil, memberEpoch: asMember ? consumerProtocol.memberEpoch : -1
                )
            } catch var error as ClientError
                where asMember && Self.memberEpochErrors.contains(error.kafkaError ?? .none)
            {
                // The epoch moved on (or the member was fenced) while the request was out: the heartbeat brings the
                // current one and the fetch loop tries again.
                wakeHeartbeat()
                error.isRetriable = true
                throw error
            }
            missing = []
            for partition in partitions {
                if case .success(let entry)? = committed[partition], entry.offset >= 0 {
                    if assignment.contains(partition) && fetchPositions[partition] == nil {  // not seeked meanwhile
                        positions[partition] = entry.offset
                        fetchPositions[partition] = entry.offset
                    }
                } else {
                    missing.append(partition)
                }
            }
        }
        try await resetPositions(missing, ifStill: Dictionary(uniqueKeysWithValues: missing.map { ($0, nil) }))
    }

    /// OffsetFetch answers to a KIP-848 member whose epoch is not the coordinator's.
    static let memberEpochErrors: Set<ErrorCode> = [.staleMemberEpoch, .fencedMemberEpoch, .unknownMemberID]

    /// Moves partitions to the start or end per `autoOffsetReset`, each only if its fetch position is still the
    /// one in `ifStill` (a `seek` while the lookup was out wins).
    func resetPositions(_ partitions: [TopicPartition], ifStill expected: [TopicPartition: Int64?]) async throws {
        guard !partitions.isEmpty else { return }
        let spec: KafkaClient.OffsetSpec
        switch configuration.autoOffsetReset {
        case .earliest: spec = .earliest
        case .latest: spec = .latest
        case .none:
            throw ClientError(
                .invalidArgument, "no committed offset for \(partitions.map(\.description)) and auto.offset.reset=none",
                isRetriable: false
            )
        }
        let found = await client.listOffsets(
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, spec) }),
            isolationLevel: configuration.isolationLevel.rawValue
        )
        for (partition, result) in found {
            guard assignment.contains(partition), let expectedPosition = expected[partition],
                fetchPositions[partition] == expectedPosition
            else { continue }
            let offset = try result.get().offset
            positions[partition] = offset
            fetchPositions[partition] = offset
            purgeBuffer { $0.topicPartition == partition }
        }
    }
}
