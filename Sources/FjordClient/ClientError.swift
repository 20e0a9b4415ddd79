import KafkaProtocol

/// An operational error of FjordClient (STYLE.md §11): what went wrong, the Kafka error code when a broker answered
/// with one, whether retrying may help, and the broker, topic and partition involved.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible like `ErrorCode`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A broker answered with a Kafka error code (see `kafkaError`).
        public static let broker = Code(rawValue: "broker")
        /// The connection could not be opened or was lost.
        public static let connection = Code(rawValue: "connection")
        /// A request got no response within the request timeout.
        public static let timeout = Code(rawValue: "timeout")
        /// The broker does not speak a version of the API that the client does.
        public static let unsupportedVersion = Code(rawValue: "unsupportedVersion")
        /// A response could not be decoded, or a frame was too large.
        public static let protocolViolation = Code(rawValue: "protocolViolation")
        /// A record or batch could not be encoded or decoded.
        public static let records = Code(rawValue: "records")
        /// No broker knows the topic or partition, or it has no leader.
        public static let metadata = Code(rawValue: "metadata")
        /// The producer, consumer or client was closed.
        public static let closed = Code(rawValue: "closed")
        /// The caller passed an invalid argument or configuration.
        public static let invalidArgument = Code(rawValue: "invalidArgument")
        /// A record could not be delivered within `delivery.timeout.ms`.
        public static let deliveryTimeout = Code(rawValue: "deliveryTimeout")
        /// The consumer group membership failed (fenced, rebalance failed).
        public static let group = Code(rawValue: "group")
        /// SASL authentication failed: a mechanism the broker does not offer, or credentials it refuses.
        public static let authentication = Code(rawValue: "authentication")
        /// A transaction call out of order (commit without begin), or a transaction that can only be aborted
        /// (a record of it failed) or not continued at all (the producer was fenced; see `kafkaError`).
        public static let transaction = Code(rawValue: "transaction")
    }

    /// The kind of failure.
    public var code: Code
    /// The Kafka error code the broker returned, if any.
    public var kafkaError: ErrorCode?
    /// Whether the same operation may succeed when retried.
    public var isRetriable: Bool
    /// The node id of the broker involved, if known.
    public var broker: Int32?
    /// The topic involved, if any.
    public var topic: String?
    /// The partition involved, if any.
    public var partition: Int32?
    /// What happened, for people.
    public var message: String
    /// The underlying error, if one caused this.
    public var cause: (any Error)?

    public init(
        _ code: Code, _ message: String, kafkaError: ErrorCode? = nil, isRetriable: Bool? = nil,
        broker: Int32? = nil, topic: String? = nil, partition: Int32? = nil, cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.kafkaError = kafkaError
        self.isRetriable = isRetriable ?? kafkaError?.isRetriable ?? (code == .connection || code == .timeout)
        self.broker = broker
        self.topic = topic
        self.partition = partition
        self.cause = cause
    }

    /// An error for a Kafka error code returned by a broker; `nil` for `ErrorCode.none`.
    public static func kafka(
        _ rawCode: Int16, _ message: String? = nil, broker: Int32? = nil, topic: String? = nil,
        partition: Int32? = nil
    ) -> ClientError? {
        let error = ErrorCode(rawValue: rawCode)
        guard error != .none else { return nil }
        return ClientError(
            .broker, message ?? "broker returned error \(rawCode)", kafkaError: error,
            broker: broker, topic: topic, partition: partition
        )
    }

    public var description: String {
        var parts = ["\(code): \(message)"]
        if let kafkaError { parts.append("kafka error \(kafkaError.rawValue)") }
        if let broker { parts.append("broker \(broker)") }
        if let topic { parts.append("topic \(topic)") }
        if let partition { parts.append("partition \(partition)") }
        if let cause { parts.append("cause: \(cause)") }
        return parts.joined(separator: ", ")
    }
}
