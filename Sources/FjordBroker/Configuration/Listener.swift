/// A listener as Kafka writes it in `listeners` / `advertised.listeners`: `NAME://host:port`.
public struct Listener: Hashable, Sendable, CustomStringConvertible {
    /// The listener name, which is also its security protocol unless mapped otherwise (only PLAINTEXT today).
    public var name: String
    public var host: String
    public var port: Int

    public init(name: String = "PLAINTEXT", host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }

    /// Parses one `NAME://host:port` (IPv6 hosts in brackets); `key` names the property in errors.
    public init(parsing text: String, key: String) throws(ConfigurationError) {
        let trimmed = text.trimmingCharacters(in: " ")
        guard let separator = trimmed.range(of: "://") else {
            throw ConfigurationError(key: key, "'\(text)' is not of the form NAME://host:port")
        }
        let name = String(trimmed[..<separator.lowerBound])
        let address = trimmed[separator.upperBound...]
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigurationError(key: key, "'\(text)' has no valid port (0-65535)")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw ConfigurationError(key: key, "'\(text)' has an invalid listener name")
        }
        self.init(name: name.uppercased(), host: host, port: port)
    }

    /// The HTTP address of `metrics.listener`: `host:port` (or `http://host:port`); nil for an empty value or
    /// `none`, which turn the endpoint off.
    public static func parseMetrics(_ text: String, key: String) throws(ConfigurationError) -> Listener? {
        var address = text.trimmingCharacters(in: " ")
        guard !address.isEmpty, address.lowercased() != "none" else { return nil }
        if address.lowercased().hasPrefix("http://") { address = String(address.dropFirst("http://".count)) }
        guard !address.contains("://") else {
            throw ConfigurationError(key: key, "'\(text)' is not of the form host:port")
        }
        return try Listener(parsing: "METRICS://" + address, key: key)
    }

    /// A comma-separated list, as in `listeners=PLAINTEXT://:9092,CONTROLLER://:9093`.
    public static func parseList(_ text: String, key: String) throws(ConfigurationError) -> [Listener] {
        var listeners = [Listener]()
        for part in text.split(separator: ",") where !part.trimmingCharacters(in: " ").isEmpty {
            listeners.append(try Listener(parsing: String(part), key: key))
        }
        return listeners
    }

    public var description: String { "\(name)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

extension StringProtocol {
    func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
