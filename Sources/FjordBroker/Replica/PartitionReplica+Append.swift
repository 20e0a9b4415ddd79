import FjordStorage
import KafkaProtocol
import KafkaRecords
import NIOCore

/// The outcome of a produce to one partition, in the terms of the Produce response.
struct PartitionAppendOutcome: Sendable {
    var error: ErrorCode = .none
    var errorMessage: String?
    var baseOffset: Int64 = -1
    var logAppendTime: Int64 = -1
    var logStartOffset: Int64 = -1
    var recordErrors: [(batchIndex: Int32, message: String?)] = []
    /// The flush policy asks for an fsync of the partition now.
    var flushRequested = false
    /// Set when the append rolled the log: the producer state to save as a snapshot at that offset.
    var producerSnapshot: (offset: Int64, state: ProducerStateManager)?
    /// The leader epoch of the append, and the offset after its last record: what an acks=all produce waits for
    /// the high watermark to reach (`DelayedProduce`).
    var leaderEpoch: LeaderEpoch = -1
    var nextOffset: Int64 = -1
    /// The replica appended to (set by the Produce handler for `DelayedProduce`).
    var replica: PartitionReplica?

    static func failure(_ error: ErrorCode, _ message: String?, logStartOffset: Int64 = -1) -> Self {
        PartitionAppendOutcome(error: error, errorMessage: message, logStartOffset: logStartOffset)
    }
}

extension PartitionReplica {
    /// Validates a produced `records` field and appends it as leader (DESIGN.md §3.1: the batch is checked and
    /// patched in place, never decoded record by record, except where the topic's settings demand it: keys on a
    /// compacted topic, or a compression type other than the producer's). A transactional batch begins or
    /// continues its producer's transaction; `origin` decides which producer checks apply (`AppendOrigin`).
    func appendAsLeader(_ records: ByteBuffer?, now: Int64, origin: AppendOrigin = .client) -> PartitionAppendOutcome {
        guard isLeader else {
            return .failure(.notLeaderOrFollower, "This broker is not the leader of \(topicPartition)")
        }
        guard let records, records.readableBytes > 0 else {
            return .failure(.corruptMessage, "The produce request for \(topicPartition) holds no record batch")
        }
        let config = self.config
        var batch: RecordBatch
        do {
            let batches = try RecordBatchSequence(records, mode: .produce).batches()
            guard batches.count == 1 else {
                return .failure(
                    .invalidRecord,
                    "Produce requests with version 3 and above must have exactly one record batch per partition")
            }
            batch = batches[0]
        } catch {
            return .failure(ErrorCode(rawValue: error.code.kafkaErrorCode), "\(error)")
        }
        if batch.sizeInBytes > config.maxMessageBytes {
            return .failure(
                .messageTooLarge,
                "The batch of \(batch.sizeInBytes) bytes is larger than max.message.bytes \(config.maxMessageBytes) of \(topicPartition.topic)"
            )
        }
        if batch.isControl {
            return .failure(.invalidRecord, "Control records cannot be produced by clients")
        }
        if config.timestampType == .createTime, let problem = timestampProblem(batch, config: config, now: now) {
            return .failure(.invalidTimestamp, problem)
        }
        // Walk the records (decompressing if need be) as Kafka's LogValidator does, so a batch whose header
        // disagrees with its records can never reach the log and poison the partition for every consumer.
        let nullKeys: [Int]
        do {
            nullKeys = try batch.validateRecords(collectNullKeys: config.isCompacted)
        } catch {
            return .failure(ErrorCode(rawValue: error.code.kafkaErrorCode), "\(error)")
        }
        if config.isCompacted, !nullKeys.isEmpty {
            // Kafka lists every offending record, so a client fails exactly those and retries the rest.
            let message = "Compacted topic cannot accept message without key in topic partition \(topicPartition)."
            var outcome = PartitionAppendOutcome.failure(.invalidRecord, "One or more records have been rejected")
            outcome.recordErrors = nullKeys.map { (Int32($0), message) }
            return outcome
        }
        if let target = config.compression, batch.compression != target {
            do {
                batch = try recompress(batch, to: target)
            } catch {
                return .failure(.corruptMessage, "\(error)")
            }
        }
        return append(batch, timestampType: config.timestampType, origin: origin)
    }

    /// Kafka's `message.timestamp.before/after.max.ms` checks against the broker's clock.
    private func timestampProblem(_ batch: RecordBatch, config: EffectiveTopicConfig, now: Int64) -> String? {
        for timestamp in [batch.baseTimestamp, batch.maxTimestamp] where timestamp >= 0 {
            if config.timestampBeforeMaxMs < Int64.max, now - timestamp > config.timestampBeforeMaxMs {
                return
                    "Timestamp \(timestamp) of message is out of range. The timestamp should be within [\(now - config.timestampBeforeMaxMs), \(now &+ config.timestampAfterMaxMs)]"
            }
            if config.timestampAfterMaxMs < Int64.max, timestamp - now > config.timestampAfterMaxMs {
                return
                    "Timestamp \(timestamp) of message is out of range. The timestamp should be within [\(now &- config.timestampBeforeMaxMs), \(now + config.timestampAfterMaxMs)]"
            }
        }
        return nil
    }

    /// Rebuilds a batch with the topic's codec, keeping its producer fields, timestamps and offset deltas.
    private func recompress(_ batch: RecordBatch, to codec: CompressionCodec) throws -> RecordBatch {
        var options = RecordBatchBuilder.Options()
        options.producerID = batch.producerID
        options.producerEpoch = batch.producerEpoch
        options.baseSequence = batch.baseSequence
        options.isTransactional = batch.isTransactional
        options.compression = codec
        var builder = RecordBatchBuilder(options: options)
        for record in try batch.records() {
            builder.append(
                timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers,
                offsetDelta: Int32(record.offset - batch.baseOffset)
            )
        }
        return try builder.build()
    }

    /// Checks idempotence and transaction state and appends. Appends are serialized by `appendLock`, held across
    /// the log append (so this runs on the I/O thread pool); the producer check and the state change each hold
    /// `state` briefly, and the change publishes the new high watermark with the producer state that covers it.
    private func append(_ batch: RecordBatch, timestampType: TimestampType, origin: AppendOrigin)
        -> PartitionAppendOutcome
    {
        let idempotent = batch.producerID >= 0
        let lastSequence =
            batch.baseSequence == -1
            ? -1 : Int32(truncatingIfNeeded: Int64(batch.baseSequence) + Int64(batch.lastOffsetDelta))
        // A coordinator's batch carries no sequence numbers (Kafka's AppendOrigin.COORDINATOR).
        let tracksSequence = !(origin == .coordinator && batch.baseSequence == -1)
        let outcome = appendLock.withLock { () -> PartitionAppendOutcome in
            let (verdict, leaderEpoch) = state.withLockedValue { state in
                let verdict: ProducerStateManager.Verdict =
                    !idempotent
                    ? .append
                    : state.producerState.check(
                        producerID: batch.producerID, epoch: batch.producerEpoch, firstSequence: batch.baseSequence,
                        lastSequence: lastSequence, isTransactional: batch.isTransactional,
                        checksSequence: tracksSequence
                    )
                return (verdict, state.leaderEpoch)
            }
            switch verdict {
            case .append: break
            case .duplicate(let original):
                // A retry of a batch already written: answer with where it went, as Kafka does — and, for acks=all,
                // only once the high watermark has passed it too: the first attempt may have been appended but
                // never replicated (a leader cut off from its followers), and acknowledging the retry at once would
                // acknowledge records the next leader does not have.
                var outcome = PartitionAppendOutcome(
                    baseOffset: original.firstOffset, logAppendTime: -1, logStartOffset: log.logStartOffset)
                outcome.nextOffset = original.lastOffset + 1
                outcome.leaderEpoch = leaderEpoch
                return outcome
            case .reject(let error, let message):
                return .failure(error, message, logStartOffset: log.logStartOffset)
            }
            let segmentsBefore = log.segmentCount
            let result: AppendResult
            do {
                result = try log.append(batch.buffer, leaderEpoch: leaderEpoch, timestampType: timestampType)
            } catch {
                return .failure(.kafkaStorageError, "\(error)")
            }
            let rolled = log.segmentCount > segmentsBefore
            let appendedEpoch = leaderEpoch
            let snapshot = state.withLockedValue { state -> ProducerStateManager? in
                if idempotent {
                    state.producerState.record(
                        producerID: batch.producerID, epoch: batch.producerEpoch,
                        batch: .init(
                            firstSequence: batch.baseSequence, lastSequence: lastSequence,
                            firstOffset: result.firstOffset,
                            lastOffset: result.lastOffset, timestamp: batch.maxTimestamp
                        ),
                        isTransactional: batch.isTransactional, tracksSequence: tracksSequence
                    )
                }
                _ = state.leaderAppended(logEndOffset: result.lastOffset + 1, now: Self.replicationNow())
                return rolled ? state.producerState : nil
            }
            var outcome = Self.outcome(result, producerSnapshot: snapshot)
            outcome.leaderEpoch = appendedEpoch
            return outcome
        }
        if outcome.error == .none { wakeAll() }
        return outcome
    }

    /// The outcome of a successful append; when it rolled the log, with the producer state to snapshot at its end.
    static func outcome(_ result: AppendResult, producerSnapshot: ProducerStateManager?) -> PartitionAppendOutcome {
        var outcome = PartitionAppendOutcome(
            baseOffset: result.firstOffset, logAppendTime: result.logAppendTime, logStartOffset: result.logStartOffset)
        outcome.nextOffset = result.lastOffset + 1
        outcome.flushRequested = result.flushRequested
        if let producerSnapshot { outcome.producerSnapshot = (result.lastOffset + 1, producerSnapshot) }
        return outcome
    }
}
