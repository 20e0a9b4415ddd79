import FjordGroups
import KafkaProtocol
import NIOCore

/// The transaction coordinator's state machine (Kafka's TransactionCoordinator with transaction version 1):
/// producer ids and epochs per transactional id, the partitions of each open transaction, and the two-phase end
/// (Prepare record → markers in every partition → Complete record).
///
/// Pure (STYLE.md §6–8): no I/O, no clock. Commands return a `TransactionPlan`; the driver appends its record to
/// `__transaction_state`, and only then does the state change, by `replay` of that record, the same function
/// that rebuilds the state at start-up. Markers are the driver's job too; when they are written it asks
/// `completeTransaction` for the record that ends the transaction.
public struct TransactionManager: Sendable {
    public var configuration: TransactionConfiguration
    public internal(set) var transactions: [String: TransactionMetadata] = [:]
    /// The `__transaction_state` partitions this coordinator serves or is loading
    /// (`TransactionManager+Partitions`).
    public internal(set) var partitions = CoordinatorPartitions()

    public init(configuration: TransactionConfiguration = TransactionConfiguration()) {
        self.configuration = configuration
    }

    /// Epochs stop one short of Int16.max (Kafka's `isProducerEpochExhausted`): the next InitProducerId hands out a
    /// fresh producer id at epoch 0 instead.
    static let lastUsableEpoch = Int16.max - 1

    // MARK: Replay

    /// Applies a `__transaction_state` record: the only way the state changes.
    public mutating func replay(key: ByteBuffer, value: ByteBuffer?) throws(DecodeError) {
        let (transactionalID, metadata) = try TransactionRecord.decode(key: key, value: value)
        transactions[transactionalID] = metadata
    }

    public mutating func replay(_ record: TransactionRecord) throws(DecodeError) {
        try replay(key: record.key, value: record.value)
    }

    // MARK: Commands

    /// InitProducerId with a transactional id: a new id gets a producer id at epoch 0; a known one gets its epoch
    /// bumped, which fences every older producer with the same id. An open transaction is first aborted with the
    /// bumped epoch (its markers fence the old producer in every partition) and the caller is told
    /// CONCURRENT_TRANSACTIONS, to retry once the abort is complete, as Kafka does.
    ///
    /// `producerID`/`producerEpoch` (KIP-360, v3+) are -1 unless the producer is recovering its own id; then they
    /// must be the current ones. `allocate` hands out a fresh producer id.
    public func initProducerID(
        transactionalID: String, timeoutMs: Int32, producerID: ProducerID, producerEpoch: ProducerEpoch, now: Int64,
        allocate: () throws -> Int64
    ) rethrows -> TransactionPlan {
        guard !transactionalID.isEmpty else { return .failure(.invalidRequest) }
        guard timeoutMs > 0, timeoutMs <= configuration.maxTimeoutMs else {
            return .failure(.invalidTransactionTimeout)
        }
        guard var metadata = transactions[transactionalID], metadata.state != .dead else {
            let fresh = TransactionMetadata(
                transactionalID: transactionalID, producerID: try allocate(), producerEpoch: 0, timeoutMs: timeoutMs,
                state: .empty, lastUpdateTimestamp: now
            )
            return TransactionPlan(record: TransactionRecord(fresh), producerID: fresh.producerID, producerEpoch: 0)
        }
        if producerID != -1, producerID != metadata.producerID || producerEpoch != metadata.producerEpoch {
            return .failure(.producerFenced)
        }
        switch metadata.state {
        case .prepareCommit, .prepareAbort, .prepareEpochFence:
            return .failure(.concurrentTransactions)
        case .ongoing:
            guard metadata.producerEpoch < Self.lastUsableEpoch else { return .failure(.concurrentTransactions) }
            return fencingAbort(metadata, now: now, answer: .concurrentTransactions)
        case .empty, .completeCommit, .completeAbort, .dead:
            if metadata.producerEpoch >= Self.lastUsableEpoch {
                metadata.producerID = try allocate()
                metadata.producerEpoch = 0
            } else {
                metadata.producerEpoch += 1
            }
            metadata.timeoutMs = timeoutMs
            metadata.state = .empty
            metadata.partitions = []
            metadata.startTimestamp = -1
            metadata.lastUpdateTimestamp = now
            return TransactionPlan(
                record: TransactionRecord(metadata), producerID: metadata.producerID,
                producerEpoch: metadata.producerEpoch)
        }
    }

    /// AddPartitionsToTxn and AddOffsetsToTxn (whose partition is the group's `__consumer_offsets` partition):
    /// starts the transaction or widens it. No record when every partition is already in it.
    public func addPartitions(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, partitions: [TopicPartition],
        now: Int64
    ) -> TransactionPlan {
        var metadata: TransactionMetadata
        switch checkProducer(transactionalID, producerID: producerID, producerEpoch: producerEpoch) {
        case .failure(let error): return .failure(error)
        case .success(let found): metadata = found
        }
        if metadata.state.isPreparing { return .failure(.concurrentTransactions) }
        if metadata.state == .ongoing, metadata.partitions.isSuperset(of: partitions) { return .success }
        if metadata.state != .ongoing { metadata.startTimestamp = now }
        metadata.state = .ongoing
        metadata.partitions.formUnion(partitions)
        metadata.lastUpdateTimestamp = now
        return TransactionPlan(
            record: TransactionRecord(metadata), producerID: producerID, producerEpoch: producerEpoch)
    }

    /// EndTxn: an open transaction moves to PrepareCommit/PrepareAbort and its markers are due. A retry of an end
    /// that already happened succeeds; the opposite end, or an end without a transaction, is INVALID_TXN_STATE.
    public func endTransaction(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, commit: Bool, now: Int64
    ) -> TransactionPlan {
        var metadata: TransactionMetadata
        switch checkProducer(transactionalID, producerID: producerID, producerEpoch: producerEpoch) {
        case .failure(let error): return .failure(error)
        case .success(let found): metadata = found
        }
        switch metadata.state {
        case .ongoing:
            metadata.state = commit ? .prepareCommit : .prepareAbort
            metadata.lastUpdateTimestamp = now
            return TransactionPlan(
                record: TransactionRecord(metadata), markers: TransactionMarkers(metadata, commit: commit),
                producerID: producerID, producerEpoch: producerEpoch
            )
        case .completeCommit: return commit ? .success : .failure(.invalidTxnState)
        case .completeAbort: return commit ? .failure(.invalidTxnState) : .success
        case .prepareCommit: return commit ? .failure(.concurrentTransactions) : .failure(.invalidTxnState)
        case .prepareAbort: return commit ? .failure(.invalidTxnState) : .failure(.concurrentTransactions)
        case .empty: return .failure(.invalidTxnState)
        case .dead, .prepareEpochFence: return .failure(.producerFenced)
        }
    }

    /// The record that completes a transaction whose markers are all written (nil if it is not preparing).
    public func completeTransaction(_ transactionalID: String, now: Int64) -> TransactionRecord? {
        guard var metadata = transactions[transactionalID] else { return nil }
        switch metadata.state {
        case .prepareCommit: metadata.state = .completeCommit
        case .prepareAbort: metadata.state = .completeAbort
        default: return nil
        }
        metadata.partitions = []
        metadata.startTimestamp = -1
        metadata.lastUpdateTimestamp = now
        return TransactionRecord(metadata)
    }

    /// Transactions stopped between their Prepare record and their Complete record (the broker died while writing
    /// markers): the markers to write again at start-up.
    public var unfinishedMarkers: [TransactionMarkers] {
        transactions.values.sorted { $0.transactionalID < $1.transactionalID }.compactMap { metadata in
            switch metadata.state {
            case .prepareCommit: TransactionMarkers(metadata, commit: true)
            case .prepareAbort: TransactionMarkers(metadata, commit: false)
            default: nil
            }
        }
    }

    /// What time alone decides: transactions open longer than their timeout are aborted with a bumped epoch
    /// (fencing their producer, as Kafka's abortTimedOutTransactions does), and ids idle for
    /// `transactional.id.expiration.ms` with nothing open are forgotten (tombstones).
    public func tick(now: Int64) -> [TransactionPlan] {
        var plans = [TransactionPlan]()
        for metadata in transactions.values.sorted(by: { $0.transactionalID < $1.transactionalID }) {
            switch metadata.state {
            case .ongoing where metadata.startTimestamp + Int64(metadata.timeoutMs) <= now:
                if metadata.producerEpoch < Self.lastUsableEpoch {
                    plans.append(fencingAbort(metadata, now: now, answer: .none))
                } else {
                    // No epoch left to fence with: abort at the current one (Kafka does the same).
                    var aborting = metadata
                    aborting.state = .prepareAbort
                    aborting.lastUpdateTimestamp = now
                    plans.append(
                        TransactionPlan(
                            record: TransactionRecord(aborting), markers: TransactionMarkers(aborting, commit: false)))
                }
            case .empty, .completeCommit, .completeAbort:
                if metadata.lastUpdateTimestamp + configuration.idExpirationMs <= now {
                    plans.append(TransactionPlan(record: .tombstone(metadata.transactionalID)))
                }
            default:
                continue
            }
        }
        return plans
    }

    /// The earliest time `tick` has something to do, if any.
    public var nextDeadline: Int64? {
        transactions.values.compactMap { metadata -> Int64? in
            switch metadata.state {
            case .ongoing: metadata.startTimestamp + Int64(metadata.timeoutMs)
            case .empty, .completeCommit, .completeAbort: metadata.lastUpdateTimestamp + configuration.idExpirationMs
            default: nil
            }
        }.min()
    }

    // MARK: Queries

    /// KIP-890 part 1: whether a transactional write to `partition` by this producer belongs to its open
    /// transaction. INVALID_TXN_STATE when the partition was not added (or nothing is open),
    /// INVALID_PRODUCER_ID_MAPPING for a producer id the transactional id does not have, INVALID_PRODUCER_EPOCH for
    /// an epoch that is not the current one.
    public func verifyPartition(
        transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch, partition: TopicPartition
    ) -> ErrorCode {
        guard let metadata = transactions[transactionalID], metadata.state != .dead, metadata.producerID == producerID
        else {
            return .invalidProducerIDMapping
        }
        guard metadata.producerEpoch == producerEpoch else { return .invalidProducerEpoch }
        guard metadata.state == .ongoing, metadata.partitions.contains(partition) else { return .invalidTxnState }
        return .none
    }

    /// DescribeTransactions for one id (TRANSACTIONAL_ID_NOT_FOUND when unknown).
    public func describe(_ transactionalID: String) -> DescribeTransactionsResponse.TransactionState {
        guard let metadata = transactions[transactionalID], metadata.state != .dead else {
            return .init(
                errorCode: ErrorCode.transactionalIDNotFound.rawValue, transactionalID: transactionalID,
                transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerID: -1,
                producerEpoch: -1, topics: [])
        }
        let topics = Dictionary(grouping: metadata.sortedPartitions, by: \.topic).sorted { $0.key < $1.key }
            .map { DescribeTransactionsResponse.TopicData(topic: $0.key, partitions: $0.value.map(\.partition)) }
        return .init(
            errorCode: 0, transactionalID: transactionalID, transactionState: metadata.state.name,
            transactionTimeoutMs: metadata.timeoutMs, transactionStartTimeMs: metadata.startTimestamp,
            producerID: metadata.producerID, producerEpoch: metadata.producerEpoch, topics: topics
        )
    }

    /// ListTransactions: ids whose state, producer id and running time pass the filters (empty filters pass all;
    /// `minimumDurationMs` < 0 passes all, else only transactions open at least that long).
    public func list(states: Set<TransactionState>, producerIDs: Set<Int64>, minimumDurationMs: Int64, now: Int64)
        -> [TransactionMetadata]
    {
        transactions.values.filter { metadata in
            metadata.state != .dead
                && (states.isEmpty || states.contains(metadata.state))
                && (producerIDs.isEmpty || producerIDs.contains(metadata.producerID))
                && (minimumDurationMs < 0
                    || (metadata.startTimestamp >= 0 && now - metadata.startTimestamp >= minimumDurationMs))
        }.sorted { $0.transactionalID < $1.transactionalID }
    }

    // MARK: Helpers

    /// The metadata of `transactionalID` if the producer id and epoch are its current ones.
    private func checkProducer(_ transactionalID: String, producerID: ProducerID, producerEpoch: ProducerEpoch)
        -> ProducerCheck
    {
        guard let metadata = transactions[transactionalID], metadata.state != .dead, metadata.producerID == producerID
        else {
            return .failure(.invalidProducerIDMapping)
        }
        guard metadata.producerEpoch == producerEpoch else { return .failure(.producerFenced) }
        return .success(metadata)
    }

    /// Aborts an open transaction with the epoch bumped, so that its markers fence the producer that opened it.
    private func fencingAbort(_ metadata: TransactionMetadata, now: Int64, answer: ErrorCode) -> TransactionPlan {
        var aborting = metadata
        aborting.producerEpoch += 1
        aborting.state = .prepareAbort
        aborting.lastUpdateTimestamp = now
        return TransactionPlan(
            record: TransactionRecord(aborting), markers: TransactionMarkers(aborting, commit: false), error: answer
        )
    }
}

/// A producer's id and epoch checked against a transactional id: its metadata, or the error to answer with.
private enum ProducerCheck {
    case success(TransactionMetadata)
    case failure(ErrorCode)
}
