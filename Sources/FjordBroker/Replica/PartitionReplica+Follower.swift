import FjordReplication
import FjordStorage
import KafkaProtocol
import KafkaRecords
import NIOCore

/// The follower side of a replica: what to ask the leader for, and carrying out the leader's answer on the log
/// (the rules are `PartitionFollower`'s; this is the I/O around them).
extension PartitionReplica {
    /// What the fetcher does next for this partition after an answer.
    enum FollowerNext: Sendable, Equatable {
        /// Fetch again with the next request.
        case fetch
        /// Leave the partition out until `replica.fetch.backoff.ms` passes (the leader or this replica has stale
        /// metadata, or the log failed).
        case backOff(ErrorCode)
        /// The leader could not place the fetch offset: ask it for its log start and end (ListOffsets as replica),
        /// then `applyLeaderOffsets`.
        case askLeaderOffsets
    }

    /// The fetch to send for this partition to `leader`, nil when this replica does not follow `leader` now.
    func nextFollowerFetch(from leader: NodeID, brokerEpoch: Int64) -> FollowerFetch? {
        state.withLockedValue { state in
            guard case .follower(let follower) = state.role, follower.leader == leader else { return nil }
            return follower.nextFetch(brokerEpoch: brokerEpoch)
        }
    }

    /// A follower keeps the producer state as the leader does (Kafka's follower `Partition.appendRecordsToFollower`
    /// updates it too): deduplication and open transactions are there when it leads, and its last stable offset
    /// lets it serve read_committed consumers (KIP-392). An ABORT marker's transaction is indexed before the new
    /// state is published, as on the leader. Under `appendLock`.
    private func followProducers(_ records: ByteBuffer) throws {
        var producers = state.withLockedValue { $0.producerState }
        var aborted = [AbortedTransaction]()
        for batch in try RecordBatchSequence(records, mode: .fetch).batches() {
            if let transaction = producers.applyReplicated(batch) { aborted.append(transaction) }
        }
        for transaction in aborted { try log.addAbortedTransaction(transaction) }
        state.withLockedValue { $0.producerState = producers }
    }

    /// After a truncation the producer state is what the remaining log says. Under `appendLock`.
    private func rebuildProducers() throws {
        let replayed = try ProducerStateManager.replayed(from: log)
        for transaction in replayed.aborted { try? log.addAbortedTransaction(transaction) }
        state.withLockedValue { $0.producerState = replayed.state }
    }

    /// Carries out the leader's answer to `fetched` for this partition: appends the batches as the leader wrote them,
    /// truncates a divergent suffix, learns the high watermark. Blocking (log writes): the fetcher calls it on the
    /// I/O thread pool. An answer to a fetch of an older leader epoch, or one the log moved past, is dropped.
    func applyLeaderAnswer(_ data: FetchResponse.PartitionData, to fetched: FollowerFetch) -> FollowerNext {
        let answer = Self.fetchAnswer(data, fetched: fetched)
        let (next, advanced) = appendLock.withLock { () -> (FollowerNext, Bool) in
            var advanced = false
            var pending = stepFollower(fetchedEpoch: fetched.currentLeaderEpoch) { follower, local in
                follower.step(.fetchAnswered(answer, log: local))
            }
            var next = FollowerNext.fetch
            while !pending.isEmpty {
                let output = pending.removeFirst()
                switch output {
                case .appendRecords:
                    guard case .records(_, let positions) = answer else { continue }
                    do {
                        if let records = Self.wholeBatches(data.records), records.readableBytes > 0 {
                            _ = try log.appendAsFollower(records)
                            try followProducers(records)
                        }
                    } catch {
                        return (.backOff(.kafkaStorageError), advanced)
                    }
                    pending += stepFollower(fetchedEpoch: fetched.currentLeaderEpoch) { follower, local in
                        follower.step(.appended(log: local, positions: positions))
                    }
                case .truncate(let offset):
                    do {
                        try log.truncate(to: offset)
                        try rebuildProducers()
                    } catch { return (.backOff(.kafkaStorageError), advanced) }
                    pending += stepFollower(fetchedEpoch: fetched.currentLeaderEpoch) { follower, local in
                        follower.step(.truncated(log: local))
                    }
                case .truncateFully(let start):
                    do {
                        try log.truncateFully(startingAt: start)
                        try rebuildProducers()
                    } catch {
                        return (.backOff(.kafkaStorageError), advanced)
                    }
                    pending += stepFollower(fetchedEpoch: fetched.currentLeaderEpoch) { follower, local in
                        follower.step(.truncated(log: local))
                    }
                case .highWatermarkAdvanced(let highWatermark):
                    state.withLockedValue { $0.highWatermark = max($0.highWatermark, highWatermark) }
                    advanced = true
                case .askLeaderOffsets:
                    // The leader could not place the fetch offset (its log start moved past it, or an unclean
                    // election left it behind).
                    next = .askLeaderOffsets
                case .fetch:
                    break
                case .backOff(let error):
                    next = .backOff(error)
                }
            }
            return (next, advanced)
        }
        if advanced { wakeAll() }
        return next
    }

    /// The leader's log start and end (asked after OFFSET_OUT_OF_RANGE), carried out as Kafka's
    /// `fetchOffsetAndTruncate`: truncate to the leader's end if this log is longer (after an unclean election), or
    /// empty the log and start it at the leader's start if this log ends before it; then fetch again. Blocking.
    func applyLeaderOffsets(logStartOffset: Int64, logEndOffset: Int64, leaderEpoch: LeaderEpoch?) -> FollowerNext {
        appendLock.withLock { () -> FollowerNext in
            var pending = stepFollower(fetchedEpoch: leaderEpoch) { follower, local in
                follower.step(.leaderOffsets(logStartOffset: logStartOffset, logEndOffset: logEndOffset, log: local))
            }
            while !pending.isEmpty {
                switch pending.removeFirst() {
                case .truncate(let offset):
                    do {
                        try log.truncate(to: offset)
                        try rebuildProducers()
                    } catch { return .backOff(.kafkaStorageError) }
                    pending += stepFollower(fetchedEpoch: leaderEpoch) { $0.step(.truncated(log: $1)) }
                case .truncateFully(let start):
                    do {
                        try log.truncateFully(startingAt: start)
                        try rebuildProducers()
                    } catch { return .backOff(.kafkaStorageError) }
                    pending += stepFollower(fetchedEpoch: leaderEpoch) { $0.step(.truncated(log: $1)) }
                default:
                    break
                }
            }
            return .fetch
        }
    }

    /// Steps the follower role of `fetchedEpoch` with the log as it is now; nothing when the role changed since.
    private func stepFollower(
        fetchedEpoch: LeaderEpoch?, _ body: (inout PartitionFollower, LocalLogState) -> [FollowerOutput]
    ) -> [FollowerOutput] {
        let highWatermark = state.withLockedValue { $0.highWatermark }
        let local = localLogState(highWatermark: highWatermark)
        return state.withLockedValue { state in
            guard case .follower(var follower) = state.role, fetchedEpoch == nil || follower.leaderEpoch == fetchedEpoch
            else { return [] }
            let outputs = body(&follower, local)
            state.role = .follower(follower)
            return outputs
        }
    }

    /// The leader's answer for one partition, in the core's terms.
    static func fetchAnswer(_ data: FetchResponse.PartitionData, fetched: FollowerFetch) -> FetchAnswer {
        if data.errorCode != 0 { return .error(ErrorCode(rawValue: data.errorCode)) }
        let positions = LeaderPositions(
            highWatermark: data.highWatermark, logStartOffset: data.logStartOffset, logEndOffset: data.highWatermark)
        if data.divergingEpoch.endOffset >= 0 {
            return .divergingEpoch(
                EpochEndOffset(epoch: data.divergingEpoch.epoch, endOffset: data.divergingEpoch.endOffset), positions)
        }
        return .records(from: fetched.fetchOffset, positions)
    }

    /// The whole batches at the start of `records` (a fetch answer may end with a partial batch, cut by the byte
    /// limit); nil for none.
    static func wholeBatches(_ records: ByteBuffer?) -> ByteBuffer? {
        guard let records else { return nil }
        var end = records.readerIndex
        while records.writerIndex - end >= 12 {
            guard let length = records.getInteger(at: end + 8, as: Int32.self), length >= 0 else { break }
            let size = 12 + Int(length)
            guard records.writerIndex - end >= size else { break }
            end += size
        }
        return records.getSlice(at: records.readerIndex, length: end - records.readerIndex)
    }
}
