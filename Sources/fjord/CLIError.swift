import ArgumentParser
import FjordClient
import KafkaProtocol

/// A failure of a command (exit status 1): what failed and, when there is one, what to try next.
///
/// Usage mistakes are `ValidationError`s instead (exit status 2, see `Fjord.main`).
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var hint: String?

    init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    var description: String {
        guard let hint else { return message }
        return "\(message); \(hint)"
    }

    /// A message for a client error, with a hint for the common Kafka error codes.
    static func wrap(_ error: any Error, bootstrap: String) -> any Error {
        if error is CLIError || error is ValidationError || error is ExitCode || error is CleanExit { return error }
        guard let error = error as? ClientError else { return CLIError("\(error)") }
        // A refused login, possibly wrapped in "no broker reachable": say so, not that no broker runs.
        var cause: ClientError? = error
        while let current = cause {
            if current.code == .authentication {
                return CLIError(current.message, hint: "check the login in --command-config")
            }
            cause = current.cause as? ClientError
        }
        if error.code == .connection {
            return CLIError(
                "cannot reach a broker at \(bootstrap)",
                hint: "is `fjord broker` running there? Pass --bootstrap or set FJORD_BOOTSTRAP"
            )
        }
        if error.code == .timeout {
            return CLIError("a request to \(bootstrap) timed out", hint: "raise --request-timeout or check the broker")
        }
        return CLIError(describe(error))
    }

    /// "topic 'orders' does not exist; list topics with `fjord topic list`" and the like.
    static func describe(_ error: ClientError, subject: String? = nil) -> String {
        guard let code = error.kafkaError else { return subject.map { "\($0): \(error.message)" } ?? error.message }
        let what = subject ?? error.topic.map { "topic '\($0)'" } ?? "request"
        switch code {
        case .unknownTopicOrPartition:
            if let partition = error.partition, let topic = error.topic {
                return "partition \(partition) of topic '\(topic)' does not exist; see `fjord topic describe \(topic)`"
            }
            return "\(what) does not exist; list topics with `fjord topic list`"
        case .topicAlreadyExists:
            return "\(what) already exists; see it with `fjord topic describe`"
        case .groupIDNotFoundCLI:
            return "\(what) does not exist; list groups with `fjord group list`"
        case .nonEmptyGroupCLI:
            return "\(what) still has active members; stop its consumers first"
        case .invalidConfig, .invalidRequest, .invalidPartitions, .invalidReplicationFactor, .invalidTopicException:
            return "\(what): \(code.kafkaName): \(error.message)"
        default:
            return "\(what): \(code.kafkaName) (\(error.message))"
        }
    }
}

extension ErrorCode {
    /// NON_EMPTY_GROUP (68), which KafkaProtocol's table does not name yet.
    static let nonEmptyGroupCLI = ErrorCode(rawValue: 68)
    /// GROUP_ID_NOT_FOUND (69), which KafkaProtocol's table does not name yet.
    static let groupIDNotFoundCLI = ErrorCode(rawValue: 69)
}
