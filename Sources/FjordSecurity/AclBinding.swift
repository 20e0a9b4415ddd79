/// One ACL: a resource pattern and an entry. Kafka stores each in the metadata log as an AccessControlEntryRecord
/// under an id of its own.
public struct AclBinding: Sendable, Hashable, CustomStringConvertible {
    public var pattern: ResourcePattern
    public var entry: AccessControlEntry

    public init(_ pattern: ResourcePattern, _ entry: AccessControlEntry) {
        self.pattern = pattern
        self.entry = entry
    }

    /// Why this binding cannot be stored, in Kafka's words, or nil when it can (`AclControlManager.validateNewAcl`):
    /// filter-only values (ANY, MATCH, UNKNOWN), a principal that does not parse, an empty resource name.
    public var problem: String? {
        if [.any, .unknown].contains(pattern.resourceType) { return "Invalid resourceType \(pattern.resourceType)" }
        if ![.literal, .prefixed].contains(pattern.patternType) { return "Invalid patternType \(pattern.patternType)" }
        if [.any, .unknown].contains(entry.operation) { return "Invalid operation \(entry.operation)" }
        if ![.allow, .deny].contains(entry.permission) { return "Invalid permissionType \(entry.permission)" }
        if pattern.name.isEmpty { return "Resource name should not be empty" }
        if KafkaPrincipal(parsing: entry.principal) == nil {
            return
                "Could not parse principal from `\(entry.principal)` (no colon is present separating the principal type from the principal name)"
        }
        return nil
    }

    public var description: String { "(pattern=\(pattern), entry=\(entry))" }
}
