import KafkaProtocol

/// Idempotent and transactional producer state of one partition: per producer id, its epoch, the last five
/// batches it wrote (sequence range and offsets), so a retried batch is recognised and answered with its original
/// offsets, and the first offset of its ongoing transaction, from which the last stable offset follows.
///
/// Kafka's rules (ProducerStateManager, ProducerAppendInfo): a batch from an older epoch is fenced
/// (INVALID_PRODUCER_EPOCH); a new epoch must start at sequence 0, and so must the first batch of an epoch a
/// transaction marker set; within an epoch each batch must start right after the previous one's last sequence
/// (wrapping at Int32.max), else OUT_OF_ORDER_SEQUENCE_NUMBER; a batch equal to one of the last five is a
/// duplicate. A transactional batch from a producer without an ongoing transaction begins one at its first
/// offset; a non-transactional batch while one is ongoing is INVALID_TXN_STATE. A marker (COMMIT or ABORT) ends
/// it: a marker of an older producer epoch is INVALID_PRODUCER_EPOCH, one of an older coordinator epoch is
/// TRANSACTION_COORDINATOR_FENCED, a newer producer epoch is taken (the coordinator bumped it to fence).
struct ProducerStateManager: Sendable {
    static let cachedBatches = 5

    struct BatchMetadata: Sendable, Equatable {
        var firstSequence: Int32
        var lastSequence: Int32
        var firstOffset: Int64
        var lastOffset: Int64
        var timestamp: Int64
    }

    struct Entry: Sendable, Equatable {
        var epoch: Int16
        var batches: [BatchMetadata]
        /// The coordinator epoch of the producer's last transaction marker, -1 before any.
        var coordinatorEpoch: Int32 = -1
        /// The first offset of the producer's ongoing transaction; nil when none is open.
        var currentTxnFirstOffset: Int64?
        /// The timestamp of the producer's last batch or marker.
        var lastTimestamp: Int64 = -1
    }

    /// A transaction a marker ended.
    struct CompletedTransaction: Sendable, Equatable {
        var producerID: ProducerID
        var firstOffset: Int64
        /// The marker's offset.
        var lastOffset: Int64
        var isAborted: Bool
        /// The partition's last stable offset once this transaction is complete (as Kafka computes it for the
        /// transaction index: the first offset of the earliest other open transaction, else `lastOffset + 1`).
        var lastStableOffset: Int64
    }

    /// What DescribeProducers reports of a producer.
    struct ActiveProducer: Sendable, Equatable {
        var producerID: ProducerID
        var epoch: Int16
        /// -1 when the producer has no batch in its current epoch.
        var lastSequence: Int32
        var lastTimestamp: Int64
        var coordinatorEpoch: Int32
        /// -1 without an ongoing transaction.
        var currentTxnStartOffset: Int64
    }

    /// What to do with a batch or marker.
    enum Verdict: Equatable {
        case append
        case duplicate(BatchMetadata)
        case reject(ErrorCode, String)
    }

    private(set) var producers: [Int64: Entry] = [:]
    /// The first offset of every ongoing transaction, by producer id: the same values as the entries'
    /// `currentTxnFirstOffset`, kept apart so that the last stable offset is a minimum over open transactions
    /// rather than over every producer the partition has seen.
    private(set) var ongoingTransactions: [Int64: Int64] = [:]

    /// The first offset of the earliest ongoing transaction (Kafka's first unstable offset), nil if none is open.
    var firstUnstableOffset: Int64? { ongoingTransactions.values.min() }

    /// Checks a data batch. `checksSequence` is false for a coordinator's batch without sequence numbers (Kafka's
    /// AppendOrigin.COORDINATOR): only its epoch and transaction state are checked.
    func check(
        producerID: ProducerID, epoch: Int16, firstSequence: Int32, lastSequence: Int32, isTransactional: Bool = false,
        checksSequence: Bool = true
    ) -> Verdict {
        let verdict: Verdict
        if checksSequence {
            verdict = checkSequence(
                producerID: producerID, epoch: epoch, firstSequence: firstSequence, lastSequence: lastSequence)
        } else if let entry = producers[producerID], epoch < entry.epoch {
            verdict = .reject(
                .invalidProducerEpoch, "Producer's epoch \(epoch) is older than the latest epoch \(entry.epoch)")
        } else {
            verdict = .append
        }
        guard verdict == .append else { return verdict }
        if !isTransactional, producers[producerID]?.currentTxnFirstOffset != nil {
            return .reject(.invalidTxnState, "Expected transactional write from producer \(producerID)")
        }
        return .append
    }

    private func checkSequence(producerID: ProducerID, epoch: Int16, firstSequence: Int32, lastSequence: Int32)
        -> Verdict
    {
        guard let entry = producers[producerID] else {
            if firstSequence != 0 {
                return .reject(
                    .outOfOrderSequenceNumber,
                    "Out of order sequence number for producer \(producerID): \(firstSequence) (expected 0 for a new producer)"
                )
            }
            return .append
        }
        if epoch < entry.epoch {
            return .reject(
                .invalidProducerEpoch, "Producer's epoch \(epoch) is older than the latest epoch \(entry.epoch)")
        }
        if epoch > entry.epoch {
            return firstSequence == 0
                ? .append
                : .reject(
                    .outOfOrderSequenceNumber,
                    "Invalid sequence number for new epoch \(epoch): \(firstSequence) (expected 0)")
        }
        if let duplicate = entry.batches.first(where: {
            $0.firstSequence == firstSequence && $0.lastSequence == lastSequence
        }) {
            return .duplicate(duplicate)
        }
        // No batch in this epoch (a marker set it): the next sequence is 0.
        let expected = entry.batches.last.map { $0.lastSequence == Int32.max ? 0 : $0.lastSequence + 1 } ?? 0
        guard firstSequence == expected else {
            return .reject(
                .outOfOrderSequenceNumber,
                "Out of order sequence number for producer \(producerID) at epoch \(epoch): \(firstSequence) (incoming seq. number), \(entry.batches.last?.lastSequence ?? -1) (current end sequence number)"
            )
        }
        return .append
    }

    /// Records an appended data batch. Without `tracksSequence` (a coordinator's batch with no sequence numbers)
    /// the batch is not cached for deduplication; its epoch and transaction still count.
    mutating func record(
        producerID: ProducerID, epoch: Int16, batch: BatchMetadata, isTransactional: Bool = false,
        tracksSequence: Bool = true
    ) {
        var entry = producers[producerID] ?? Entry(epoch: epoch, batches: [])
        if epoch != entry.epoch {
            entry.epoch = epoch
            entry.batches.removeAll()
        }
        if tracksSequence {
            entry.batches.append(batch)
            if entry.batches.count > Self.cachedBatches {
                entry.batches.removeFirst(entry.batches.count - Self.cachedBatches)
            }
        }
        entry.lastTimestamp = batch.timestamp
        if isTransactional, entry.currentTxnFirstOffset == nil {
            entry.currentTxnFirstOffset = batch.firstOffset
            ongoingTransactions[producerID] = batch.firstOffset
        }
        producers[producerID] = entry
    }

    /// Checks a transaction marker before it is written.
    func checkMarker(producerID: ProducerID, epoch: Int16, coordinatorEpoch: Int32) -> Verdict {
        guard let entry = producers[producerID] else { return .append }
        if epoch < entry.epoch {
            return .reject(
                .invalidProducerEpoch,
                "Epoch of producer \(producerID) is \(epoch), which is older than the last seen epoch \(entry.epoch)")
        }
        if coordinatorEpoch < entry.coordinatorEpoch {
            return .reject(
                .transactionCoordinatorFenced,
                "Invalid coordinator epoch for producer \(producerID): \(coordinatorEpoch) (zombie), \(entry.coordinatorEpoch) (current)"
            )
        }
        return .append
    }

    /// Records a marker written at `offset`: the producer's transaction ends and its epoch becomes the marker's.
    /// Returns the transaction it ended, nil when none was open (the marker is harmless then, as in Kafka).
    @discardableResult
    mutating func completeTransaction(
        producerID: ProducerID, epoch: Int16, coordinatorEpoch: Int32, offset: Int64, timestamp: Int64, isAborted: Bool
    ) -> CompletedTransaction? {
        var entry = producers[producerID] ?? Entry(epoch: epoch, batches: [])
        let completed = entry.currentTxnFirstOffset.map { first in
            CompletedTransaction(
                producerID: producerID, firstOffset: first, lastOffset: offset, isAborted: isAborted,
                lastStableOffset: ongoingTransactions.filter { $0.key != producerID }.values.min() ?? offset + 1
            )
        }
        if epoch != entry.epoch {
            entry.epoch = epoch
            entry.batches.removeAll()
        }
        entry.coordinatorEpoch = coordinatorEpoch
        entry.currentTxnFirstOffset = nil
        entry.lastTimestamp = timestamp
        ongoingTransactions[producerID] = nil
        producers[producerID] = entry
        return completed
    }

    /// Puts back an entry read from a snapshot.
    mutating func restore(producerID: ProducerID, entry: Entry) {
        producers[producerID] = entry
        ongoingTransactions[producerID] = entry.currentTxnFirstOffset
    }

    /// Every producer the partition knows, by producer id (DescribeProducers).
    func activeProducers() -> [ActiveProducer] {
        producers.sorted { $0.key < $1.key }.map { producerID, entry in
            ActiveProducer(
                producerID: producerID, epoch: entry.epoch, lastSequence: entry.batches.last?.lastSequence ?? -1,
                lastTimestamp: entry.lastTimestamp, coordinatorEpoch: entry.coordinatorEpoch,
                currentTxnStartOffset: entry.currentTxnFirstOffset ?? -1
            )
        }
    }

    /// Forgets batches and transactions at or after `offset` (the log was truncated there).
    mutating func truncate(fromOffset offset: Int64) {
        for (id, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset >= offset }
            if let first = entry.currentTxnFirstOffset, first >= offset {
                entry.currentTxnFirstOffset = nil
                ongoingTransactions[id] = nil
            }
            producers[id] = entry.batches.isEmpty && entry.currentTxnFirstOffset == nil ? nil : entry
        }
    }
}
