import Glibc
import NIOCore

/// A broker configuration that cannot be used, naming the key and what is wrong with it.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The Kafka property name at fault, or nil for a problem with a whole file.
    public var key: String?
    public var message: String

    public init(key: String?, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String {
        guard let key else { return message }
        return "configuration '\(key)': \(message)"
    }
}

extension ConfigurationError {
    /// Runs `bind`, turning a failure into an error that names the listener and the key to change: two brokers on one
    /// host with default settings must not die with an unnamed "bind(...): Address already in use".
    static func namingListener<T>(
        key: String, _ name: String, host: String, port: Int, _ bind: () async throws -> T
    ) async throws -> T {
        do {
            return try await bind()
        } catch let error as IOError {
            let reason = String(cString: strerror(error.errnoCode))
            throw ConfigurationError(
                key: key,
                "cannot listen on \(host):\(port) for listener \(name): \(reason); set \(key) to a free address")
        }
    }
}
