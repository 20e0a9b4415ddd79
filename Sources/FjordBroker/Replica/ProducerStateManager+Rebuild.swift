import FjordStorage
import KafkaRecords

extension ProducerStateManager {
    /// Rebuilds the state so that deduplication survives a restart: from the newest `ProducerStateSnapshot` at or
    /// below the log end plus the batches after it, or, without a snapshot, by reading from the start of the
    /// second-newest segment (producers older than that are forgotten, as if their state had expired).
    static func rebuilt(from log: PartitionLog) throws -> ProducerStateManager {
        var state = ProducerStateManager()
        let bases = log.baseOffsets
        var offset = max(log.logStartOffset, bases.count >= 2 ? bases[bases.count - 2] : bases.first ?? 0)
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
            for batch in try RecordBatchSequence(bytes, mode: .fetch).batches() {
                if batch.producerID >= 0, batch.baseSequence >= 0, !batch.isControl {
                    let lastSequence = Int32(truncatingIfNeeded: Int64(batch.baseSequence) + Int64(batch.lastOffsetDelta))
                    state.record(producerID: batch.producerID, epoch: batch.producerEpoch, batch: .init(
                        firstSequence: batch.baseSequence, lastSequence: lastSequence, firstOffset: batch.baseOffset,
                        lastOffset: batch.lastOffset, timestamp: batch.maxTimestamp
                    ))
                }
                if batch.nextOffset > offset {
                    offset = batch.nextOffset
                    progressed = true
                }
            }
            if !progressed { break }
        }
        return state
    }
}
