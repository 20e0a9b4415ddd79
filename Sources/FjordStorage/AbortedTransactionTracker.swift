import KafkaProtocol

/// Tells, walking a log's batches in offset order, which transactional batches belong to aborted transactions —
/// the way a read_committed consumer does it from the aborted-transaction list (`PartitionLog.abortedTransactions`).
///
/// A producer's transaction is aborted from its `firstOffset` until its ABORT marker (`lastOffset`); a producer has
/// at most one open transaction at a time, so one pending abort per producer is enough.
struct AbortedTransactionTracker {
    /// The aborted transactions not yet reached, by first offset.
    private var upcoming: [AbortedTransaction]
    private var nextUpcoming = 0
    /// Producer → offset of the ABORT marker that ends its current aborted transaction.
    private var ongoing: [Int64: Int64] = [:]

    init(_ aborted: [AbortedTransaction]) {
        upcoming = aborted.sorted { $0.firstOffset < $1.firstOffset }
    }

    /// Whether the batch `[baseOffset, lastOffset]` of `producerID` is data of an aborted transaction. Call for
    /// every batch (control batches too) in offset order; a control batch is never reported aborted.
    mutating func isAborted(
        producerID: ProducerID, baseOffset: Int64, lastOffset: Int64, isTransactional: Bool, isControl: Bool
    ) -> Bool {
        while nextUpcoming < upcoming.count, upcoming[nextUpcoming].firstOffset <= lastOffset {
            let entry = upcoming[nextUpcoming]
            ongoing[entry.producerID] = entry.lastOffset
            nextUpcoming += 1
        }
        guard isTransactional, let marker = ongoing[producerID] else { return false }
        if isControl {
            if baseOffset >= marker { ongoing.removeValue(forKey: producerID) }
            return false
        }
        return baseOffset < marker
    }
}
