/// A handler's answer that is no answer but the connection's end: `KafkaConnectionHandler` writes the answers of the
/// requests before it, then closes the connection, logging `reason` at info level (an expected close, not a fault).
///
/// Kafka answers this way where the client expects no response but must learn that its request failed: a Produce
/// with acks=0 that any partition refused (the producer sees the connection drop and refreshes its metadata).
struct ClosingAnswer: Error, Sendable, CustomStringConvertible {
    var reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    var description: String { reason }
}
