/// Where a transactional id's current transaction stands, with the numbers Kafka stores in
/// `TransactionLogValue.TransactionStatus` (so `__transaction_state` reads the same in both brokers).
///
/// The transitions, all in one place (Kafka's TransactionState.validPreviousStates):
///
///     (none) ──InitProducerId──▶ Empty
///     Empty, CompleteCommit, CompleteAbort ──InitProducerId (epoch + 1)──▶ Empty
///     Empty, Ongoing, CompleteCommit, CompleteAbort ──AddPartitionsToTxn / AddOffsetsToTxn──▶ Ongoing
///     Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers written──▶ CompleteCommit
///     Ongoing ──EndTxn(abort), timeout, or InitProducerId (fencing, epoch + 1)──▶ PrepareAbort
///     PrepareAbort ──markers written──▶ CompleteAbort
///     Empty, CompleteCommit, CompleteAbort ──transactional.id.expiration.ms of silence──▶ Dead (tombstone)
///
/// PrepareEpochFence (7) is Kafka's in-memory step before a fencing abort; Fjord goes to PrepareAbort with the
/// bumped epoch in one record, so it is only ever read, never written.
public enum TransactionState: Int8, Sendable, CaseIterable {
    case empty = 0
    case ongoing = 1
    case prepareCommit = 2
    case prepareAbort = 3
    case completeCommit = 4
    case completeAbort = 5
    case dead = 6
    case prepareEpochFence = 7

    /// The states a record may move a transaction into from `self`.
    public var validNextStates: Set<TransactionState> {
        switch self {
        case .empty, .completeCommit, .completeAbort: [.empty, .ongoing, .dead, .prepareEpochFence]
        case .ongoing: [.ongoing, .prepareCommit, .prepareAbort, .prepareEpochFence]
        case .prepareCommit: [.completeCommit]
        case .prepareAbort: [.completeAbort]
        case .prepareEpochFence: [.prepareAbort]
        case .dead: []
        }
    }

    /// The name DescribeTransactions and ListTransactions use (Kafka's `TransactionState.stateName`).
    public var name: String {
        switch self {
        case .empty: "Empty"
        case .ongoing: "Ongoing"
        case .prepareCommit: "PrepareCommit"
        case .prepareAbort: "PrepareAbort"
        case .completeCommit: "CompleteCommit"
        case .completeAbort: "CompleteAbort"
        case .dead: "Dead"
        case .prepareEpochFence: "PrepareEpochFence"
        }
    }

    public init?(name: String) {
        guard let state = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = state
    }

    /// Waiting for its markers: every request but a retry of the same EndTxn gets CONCURRENT_TRANSACTIONS.
    public var isPreparing: Bool { self == .prepareCommit || self == .prepareAbort || self == .prepareEpochFence }
}
