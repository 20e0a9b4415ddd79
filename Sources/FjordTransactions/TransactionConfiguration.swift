/// The broker settings the transaction coordinator obeys (Kafka's names and defaults).
public struct TransactionConfiguration: Sendable {
    /// `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a producer may ask for
    /// (INVALID_TRANSACTION_TIMEOUT above it).
    public var maxTimeoutMs: Int32 = 900_000
    /// `transactional.id.expiration.ms`: a transactional id with no transaction in progress is forgotten after this
    /// long without a request.
    public var idExpirationMs: Int64 = 604_800_000

    public init() {}
}
