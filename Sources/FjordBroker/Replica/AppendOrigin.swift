/// Who is appending to a partition as its leader, which decides how much of the producer state is checked
/// (Kafka's AppendOrigin).
enum AppendOrigin: Sendable, Equatable {
    /// A Produce request: batches of a producer id get every idempotence check.
    case client
    /// A coordinator of this broker (the group coordinator's transactional offset commits): a batch with base
    /// sequence -1 skips the sequence checks, but its producer epoch is checked and its transaction is tracked.
    case coordinator
}
