import KafkaProtocol

/// Idempotent-producer state of one partition: per producer id, its epoch and the last five batches it wrote
/// (sequence range and offsets), so a retried batch is recognised and answered with its original offsets.
///
/// Kafka's rules (ProducerStateManager): a batch from an older epoch is fenced (INVALID_PRODUCER_EPOCH); a new
/// epoch must start at sequence 0; within an epoch each batch must start right after the previous one's last
/// sequence (wrapping at Int32.max), else OUT_OF_ORDER_SEQUENCE_NUMBER; a batch equal to one of the last five is
/// a duplicate.
struct ProducerStateManager: Sendable {
    static let cachedBatches = 5

    struct BatchMetadata: Sendable, Equatable {
        var firstSequence: Int32
        var lastSequence: Int32
        var firstOffset: Int64
        var lastOffset: Int64
        var timestamp: Int64
    }

    struct Entry: Sendable {
        var epoch: Int16
        var batches: [BatchMetadata]
    }

    /// What to do with a batch.
    enum Verdict: Equatable {
        case append
        case duplicate(BatchMetadata)
        case reject(ErrorCode, String)
    }

    private(set) var producers: [Int64: Entry] = [:]

    func check(producerID: Int64, epoch: Int16, firstSequence: Int32, lastSequence: Int32) -> Verdict {
        guard let entry = producers[producerID] else {
            if firstSequence != 0 {
                return .reject(.outOfOrderSequenceNumber, "Out of order sequence number for producer \(producerID): \(firstSequence) (expected 0 for a new producer)")
            }
            return .append
        }
        if epoch < entry.epoch {
            return .reject(.invalidProducerEpoch, "Producer's epoch \(epoch) is older than the latest epoch \(entry.epoch)")
        }
        if epoch > entry.epoch {
            return firstSequence == 0 ? .append : .reject(.outOfOrderSequenceNumber, "Invalid sequence number for new epoch \(epoch): \(firstSequence) (expected 0)")
        }
        if let duplicate = entry.batches.first(where: { $0.firstSequence == firstSequence && $0.lastSequence == lastSequence }) {
            return .duplicate(duplicate)
        }
        guard let last = entry.batches.last else { return .append }
        let expected = last.lastSequence == Int32.max ? 0 : last.lastSequence + 1
        guard firstSequence == expected else {
            return .reject(.outOfOrderSequenceNumber, "Out of order sequence number for producer \(producerID) at epoch \(epoch): \(firstSequence) (incoming seq. number), \(last.lastSequence) (current end sequence number)")
        }
        return .append
    }

    mutating func record(producerID: Int64, epoch: Int16, batch: BatchMetadata) {
        var entry = producers[producerID] ?? Entry(epoch: epoch, batches: [])
        if epoch != entry.epoch {
            entry = Entry(epoch: epoch, batches: [])
        }
        entry.batches.append(batch)
        if entry.batches.count > Self.cachedBatches { entry.batches.removeFirst(entry.batches.count - Self.cachedBatches) }
        producers[producerID] = entry
    }

    /// Forgets batches at or after `offset` (the log was truncated there).
    mutating func truncate(fromOffset offset: Int64) {
        for (id, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset >= offset }
            producers[id] = entry.batches.isEmpty ? nil : entry
        }
    }
}
