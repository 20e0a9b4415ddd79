import FjordStorage
import KafkaProtocol
import KafkaRecords

extension PartitionReplica {
    /// Writes a transaction marker for `producerID` (WriteTxnMarkers, from the transaction coordinator): Kafka's
    /// control batch (`TransactionMarker`) stamped `now`, appended as leader like a produce, under the replica's
    /// lock with the producer checks, waking parked fetches, and counting in the high watermark. It ends the
    /// producer's ongoing transaction, which may move the last stable offset; an ABORT is indexed in the
    /// transaction index of the segment holding the marker. A marker whose producer epoch is older than the
    /// producer's is refused (INVALID_PRODUCER_EPOCH), and so is one of an older coordinator epoch
    /// (TRANSACTION_COORDINATOR_FENCED); a newer epoch (the coordinator fenced the producer) becomes current. A
    /// marker for a producer without an ongoing transaction is written all the same and ends nothing.
    ///
    /// The caller handles `flushRequested` and `producerSnapshot` of the outcome as the produce path does.
    func appendTransactionMarker(
        producerID: ProducerID, producerEpoch: ProducerEpoch, coordinatorEpoch: Int32, commit: Bool, now: Int64
    ) -> PartitionAppendOutcome {
        guard isLeader else {
            return .failure(.notLeaderOrFollower, "This broker is not the leader of \(topicPartition)")
        }
        let marker = TransactionMarker(isCommit: commit, coordinatorEpoch: coordinatorEpoch)
        let batch: RecordBatch
        do {
            batch = try marker.batch(producerID: producerID, producerEpoch: producerEpoch, timestamp: now)
        } catch {
            return .failure(.unknownServerError, "Building the transaction marker failed: \(error)")
        }
        let timestampType = config.timestampType
        let outcome = appendLock.withLock { () -> PartitionAppendOutcome in
            let (verdict, leaderEpoch) = state.withLockedValue { state in
                (
                    state.producerState.checkMarker(
                        producerID: producerID, epoch: producerEpoch, coordinatorEpoch: coordinatorEpoch),
                    state.leaderEpoch
                )
            }
            if case .reject(let error, let message) = verdict {
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
            // The transaction ends on a copy first: an ABORT's index entry must be in place before the new last
            // stable offset is published, or a read_committed fetch could read past the aborted records without
            // the list that tells it to drop them. Only appends change the producer state, and `appendLock`
            // serializes them, so nothing changes the original meanwhile.
            var producerState = state.withLockedValue { $0.producerState }
            let completed = producerState.completeTransaction(
                producerID: producerID, epoch: producerEpoch, coordinatorEpoch: coordinatorEpoch,
                offset: result.firstOffset, timestamp: result.logAppendTime >= 0 ? result.logAppendTime : now,
                isAborted: !commit
            )
            var indexError: String?
            if let completed, completed.isAborted {
                do {
                    try log.addAbortedTransaction(
                        AbortedTransaction(
                            producerID: producerID, firstOffset: completed.firstOffset,
                            lastOffset: completed.lastOffset,
                            lastStableOffset: completed.lastStableOffset
                        ))
                } catch {
                    // The marker is in the log and the state takes it in; the entry comes back when the log is next
                    // opened (the rebuild replays the abort). Report the failure all the same.
                    indexError = "Indexing the aborted transaction failed: \(error)"
                }
            }
            let snapshot = state.withLockedValue { state -> ProducerStateManager? in
                state.producerState = producerState
                _ = state.leaderAppended(logEndOffset: result.lastOffset + 1, now: Self.replicationNow())
                return rolled ? producerState : nil
            }
            var outcome = Self.outcome(result, producerSnapshot: snapshot)
            if let indexError {
                outcome.error = .kafkaStorageError
                outcome.errorMessage = indexError
            }
            return outcome
        }
        if outcome.baseOffset >= 0 { wakeAll() }
        return outcome
    }

    /// The first offset of every ongoing transaction, by producer id.
    var ongoingTransactions: [Int64: Int64] {
        state.withLockedValue { $0.producerState.ongoingTransactions }
    }

    /// Every producer this partition knows, with its epoch, last sequence and timestamp, coordinator epoch and
    /// the start of its ongoing transaction (-1 if none), ordered by producer id: what DescribeProducers answers.
    func activeProducers() -> [ProducerStateManager.ActiveProducer] {
        state.withLockedValue { $0.producerState.activeProducers() }
    }

    /// The aborted transactions overlapping `[startOffset, upperBound)`, for a read_committed fetch.
    func abortedTransactions(from startOffset: Int64, upperBound: Int64) throws(LogError) -> [AbortedTransaction] {
        try log.abortedTransactions(from: startOffset, upperBound: upperBound)
    }
}
