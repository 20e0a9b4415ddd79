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
