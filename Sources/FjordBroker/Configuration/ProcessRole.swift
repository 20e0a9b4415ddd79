/// A role a node plays in a KRaft cluster. Kafka: an entry of `process.roles`.
///
/// A broker serves clients and follows the metadata log; a controller votes in the metadata quorum and, when it
/// leads it, is the active controller. `broker,controller` is a combined node.
public enum ProcessRole: String, Hashable, Sendable, CaseIterable {
    case broker
    case controller

    /// Parses `process.roles` as Kafka does: each entry `broker` or `controller`, no entry twice; empty is no roles.
    static func parseList(_ text: String, key: String) throws(ConfigurationError) -> Set<ProcessRole> {
        var roles = Set<ProcessRole>()
        let entries = text.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        for entry in entries {
            guard let role = ProcessRole(rawValue: entry) else {
                throw ConfigurationError(
                    key: key, "Unknown process role '\(entry)' (only 'broker' and 'controller' are allowed roles)")
            }
            guard roles.insert(role).inserted else {
                throw ConfigurationError(key: key, "Duplicate role names found in `\(key)`: \(entries)")
            }
        }
        return roles
    }
}
