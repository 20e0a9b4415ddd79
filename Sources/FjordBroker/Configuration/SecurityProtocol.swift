/// How a listener's connections are secured. Kafka: the values of `listener.security.protocol.map`.
///
/// Client listeners may use any of them (`BrokerConfiguration+Sasl`, `+Tls`); the inter-broker and controller
/// listeners are PLAINTEXT only for now, and a secured one is refused at start-up naming the key.
public enum SecurityProtocol: String, Hashable, Sendable, CaseIterable {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSSL = "SASL_SSL"

    /// Kafka's default `listener.security.protocol.map`: each protocol's name maps to itself.
    static let defaultMap: [String: SecurityProtocol] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// The default map as Kafka prints it.
    static let defaultMapText = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"

    /// Parses `NAME:PROTOCOL,...` (names upper-cased, as Kafka normalises listener names); a protocol that is not one
    /// of Kafka's is an error naming it, as is a name mapped twice.
    static func parseMap(_ text: String, key: String) throws(ConfigurationError) -> [String: SecurityProtocol] {
        var map = [String: SecurityProtocol]()
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: " ") }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: " ")
            }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigurationError(key: key, "'\(entry)' is not of the form LISTENER_NAME:SECURITY_PROTOCOL")
            }
            guard let value = SecurityProtocol(rawValue: parts[1].uppercased()) else {
                throw ConfigurationError(key: key, "Invalid security protocol `\(parts[1])` defined in \(key)")
            }
            guard map.updateValue(value, forKey: parts[0].uppercased()) == nil else {
                throw ConfigurationError(key: key, "listener name \(parts[0]) is mapped more than once")
            }
        }
        return map
    }
}
