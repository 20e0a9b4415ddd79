import KafkaProtocol

/// A command refused because this node is not the active controller (Kafka: NOT_CONTROLLER), or not committed in
/// time (REQUEST_TIMED_OUT).
struct MetadataCommandError: Error, Sendable, CustomStringConvertible {
    var code: ErrorCode
    var message: String

    var description: String { "\(code): \(message)" }
}
