/// A `host:port` address, as `controller.quorum.bootstrap.servers` lists them (IPv6 hosts in brackets).
public struct HostAndPort: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses a comma-separated list with Kafka's message (`QuorumConfig.parseBootstrapServer`).
    static func parseList(_ text: String, key: String) throws(ConfigurationError) -> [HostAndPort] {
        var servers = [HostAndPort]()
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: " ") }) where !entry.isEmpty {
            guard let (host, port) = split(entry), !host.isEmpty else {
                throw ConfigurationError(
                    key: key,
                    "Failed to parse host name or port from \(entry) for the configuration \(key). Each entry should "
                        + "be in the form \"{host}:{port}\"")
            }
            servers.append(HostAndPort(host: host, port: port))
        }
        return servers
    }

    /// Splits `host:port` (`[v6]:port` too) at its last colon; nil without a port in 0...65535.
    static func split(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || "-._:%".contains($0) }) else { return nil }
        return (host, port)
    }

    static func join(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public var description: String { Self.join(host, port) }
}
