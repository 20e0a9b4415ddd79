import FjordStorage
import KafkaRecords

extension ProducerStateManager {
    /// The producer state rebuilt from the log (see `replayed(from:)`).
    static func rebuilt(from log: PartitionLog) throws -> ProducerStateManager {
        try replayed(from: log).state
    }

    /// Rebuilds the state so that deduplication and open transactions survive a restart: from the newest
    /// `ProducerStateSnapshot` at or below the log end plus the batches after it, or, without a snapshot, from the
    /// log start (an open transaction may have begun anywhere; snapshots are written at every roll, so this reads
    /// more than the active segment only for logs that never had one). Data batches and transaction markers are
    /// applied as the leader applied them, without its checks (they passed them once).
    ///
    /// Also returns every aborted transaction whose marker it replayed, for the caller to re-add to the
    /// transaction index: an entry lost in a crash between the marker and its index entry comes back this way.
    static func replayed(from log: PartitionLog) throws -> (state: ProducerStateManager, aborted: [AbortedTransaction])
    {
        var state = ProducerStateManager()
        var aborted = [AbortedTransaction]()
        var offset = log.logStartOffset
        let end = log.logEndOffset
        // A snapshot saves re-reading what it covers; only the batches after it are replayed.
        if let snapshot = ProducerStateSnapshot.latest(in: log.directory, atOrBelow: end) {
            state = snapshot.state
            offset = max(log.logStartOffset, snapshot.offset)
        }
        while offset < end {
            let read = try log.read(from: offset, maximumBytes: 4 << 20, upperBound: end)
            guard let slice = read.slice else { break }
            let bytes = try log.bytes(of: slice)
            var progressed = false
            for batch in try RecordBatchSequence(bytes, mode: .fetch).batches() where batch.nextOffset > offset {
                if let completed = state.replay(batch), completed.isAborted {
                    aborted.append(
                        AbortedTransaction(
                            producerID: completed.producerID, firstOffset: completed.firstOffset,
                            lastOffset: completed.lastOffset, lastStableOffset: completed.lastStableOffset
                        ))
                }
                offset = batch.nextOffset
                progressed = true
            }
            if !progressed { break }
        }
        return (state, aborted)
    }

    /// A follower's copy of a batch it appended as the leader wrote it: applied as a replay is (no checks: the
    /// leader made them). Returns the transaction it aborted, if it is an ABORT marker that ended one, for the
    /// transaction index.
    mutating func applyReplicated(_ batch: RecordBatch) -> AbortedTransaction? {
        guard let completed = replay(batch), completed.isAborted else { return nil }
        return AbortedTransaction(
            producerID: completed.producerID, firstOffset: completed.firstOffset, lastOffset: completed.lastOffset,
            lastStableOffset: completed.lastStableOffset)
    }

    /// Applies one batch read from the log; returns the transaction it ended, if it is a marker that ended one.
    private mutating func replay(_ batch: RecordBatch) -> CompletedTransaction? {
        guard batch.producerID >= 0 else { return nil }
        if batch.isControl {
            guard let marker = TransactionMarker(controlBatch: batch) else { return nil }
            return completeTransaction(
                producerID: batch.producerID, epoch: batch.producerEpoch, coordinatorEpoch: marker.coordinatorEpoch,
                offset: batch.baseOffset, timestamp: batch.maxTimestamp, isAborted: !marker.isCommit
            )
        }
        let lastSequence =
            batch.baseSequence < 0
            ? -1 : Int32(truncatingIfNeeded: Int64(batch.baseSequence) + Int64(batch.lastOffsetDelta))
        record(
            producerID: batch.producerID, epoch: batch.producerEpoch,
            batch: .init(
                firstSequence: batch.baseSequence, lastSequence: lastSequence, firstOffset: batch.baseOffset,
                lastOffset: batch.lastOffset, timestamp: batch.maxTimestamp
            ),
            isTransactional: batch.isTransactional, tracksSequence: batch.baseSequence >= 0
        )
        return nil
    }
}
