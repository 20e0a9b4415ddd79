/// A static voter of the metadata quorum, as `controller.quorum.voters` lists it: `{id}@{host}:{port}`.
public struct QuorumVoter: Hashable, Sendable, CustomStringConvertible {
    public var nodeID: Int32
    public var host: String
    public var port: Int

    public init(nodeID: Int32, host: String, port: Int) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
    }

    /// Parses a comma-separated list with Kafka's rules and messages (`QuorumConfig.parseVoterConnections`): each
    /// entry has exactly one `@`, an integer id, a host and a port; an id listed twice is an error.
    static func parseList(_ text: String, key: String) throws(ConfigurationError) -> [QuorumVoter] {
        var voters = [QuorumVoter]()
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: " ") }) where !entry.isEmpty {
            let form = "Each entry should be in the form `{id}@{host}:{port}`."
            let parts = entry.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw ConfigurationError(key: key, "Invalid configuration value for \(key). \(form)")
            }
            guard let id = Int32(parts[0]) else {
                throw ConfigurationError(key: key, "Failed to parse voter ID as an integer from \(parts[0])")
            }
            guard let (host, port) = HostAndPort.split(String(parts[1])), !host.isEmpty else {
                throw ConfigurationError(
                    key: key,
                    "Failed to parse host name or port from entry \(entry) for the configuration \(key). \(form)")
            }
            guard !voters.contains(where: { $0.nodeID == id }) else {
                throw ConfigurationError(key: key, "voter id \(id) is listed more than once")
            }
            voters.append(QuorumVoter(nodeID: id, host: host, port: port))
        }
        return voters
    }

    public var description: String { "\(nodeID)@\(HostAndPort.join(host, port))" }
}
