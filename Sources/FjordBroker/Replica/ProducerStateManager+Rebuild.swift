import FjordStorage
import KafkaRecords

extension ProducerStateManager {
    /// Rebuilds the state by reading the batches at the end of the log, so that deduplication survives a restart.
    ///
    /// It reads from the start of the second-newest segment (a producer's last five batches are almost always
    /// there); producers older than that are forgotten, as if their state had expired. Kafka instead keeps
    /// `.snapshot` files written at each roll; Fjord does not write them yet.
    static func rebuilt(from log: PartitionLog) throws -> ProducerStateManager {
        var state = ProducerStateManager()
        let bases = log.baseOffsets
        var offset = max(log.logStartOffset, bases.count >= 2 ? bases[bases.count - 2] : bases.first ?? 0)
        let end = log.logEndOffset
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
