/// Kafka's `StandardAuthorizer` decision (`authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer`)
/// over a set of ACLs: a value, rebuilt when the ACLs in the metadata image change, asked by every handler.
///
/// For a principal, a client host, an operation and one resource (a type and a literal name):
/// 1. A principal listed in `super.users` may do everything.
/// 2. The ACLs that apply to the resource are those of its type whose pattern is the name itself, the wildcard
///    `*`, or a prefix of the name (PREFIXED). Among them, one entry for the principal (or `User:*`) and the host
///    (or `*`) that denies the operation (or ALL) denies — deny wins, whatever allows it.
/// 3. Otherwise one such entry that allows the operation, ALL, or an operation implying it (READ, WRITE, DELETE
///    and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows.
/// 4. Otherwise: when no ACL applies to the resource at all, `allow.everyone.if.no.acl.found` decides (false by
///    default: denied); when some do (for other principals, hosts or operations), denied.
public struct StandardAuthorizer: Sendable {
    /// What was decided, and by which rule: for the audit log line and for tests.
    public enum Decision: Sendable, Equatable {
        case allowedAsSuperUser
        case allowed(by: AclBinding)
        case denied(by: AclBinding)
        /// No ACL applies to the resource: `allow.everyone.if.no.acl.found` decided.
        case noAcl(allowed: Bool)
        /// ACLs apply to the resource, none for this principal, host and operation.
        case deniedByDefault

        public var isAllowed: Bool {
            switch self {
            case .allowedAsSuperUser, .allowed: return true
            case .noAcl(let allowed): return allowed
            case .denied, .deniedByDefault: return false
            }
        }
    }

    /// Per resource type: the literal ACLs by name (the wildcard `*` among them) and the prefixed ones.
    private struct Section: Sendable {
        var literal: [String: [AclBinding]] = [:]
        var prefixed: [AclBinding] = []
    }

    private var sections: [AclResourceType: Section] = [:]
    /// `super.users`, as principals' strings (`User:admin`).
    public var superUsers: Set<String>
    /// `allow.everyone.if.no.acl.found`.
    public var allowEveryoneIfNoAclFound: Bool

    public init(
        bindings: some Sequence<AclBinding>, superUsers: Set<String> = [], allowEveryoneIfNoAclFound: Bool = false
    ) {
        self.superUsers = superUsers
        self.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound
        for binding in bindings {
            var section = sections[binding.pattern.resourceType] ?? Section()
            switch binding.pattern.patternType {
            case .literal: section.literal[binding.pattern.name, default: []].append(binding)
            case .prefixed: section.prefixed.append(binding)
            default: continue  // filter-only pattern types are never stored
            }
            sections[binding.pattern.resourceType] = section
        }
    }

    /// Kafka's `super.users`: principals separated by semicolons (`User:admin;User:broker`).
    public static func superUsers(fromConfig value: String) -> Set<String> {
        Set(
            value.split(separator: ";").map {
                String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            }
            .filter { !$0.isEmpty })
    }

    public func authorize(
        _ principal: KafkaPrincipal, host: String, operation: AclOperation, resourceType: AclResourceType,
        name: String
    ) -> Decision {
        if superUsers.contains(principal.description) { return .allowedAsSuperUser }
        guard let section = sections[resourceType] else { return .noAcl(allowed: allowEveryoneIfNoAclFound) }
        var applying: [AclBinding] = section.literal[name] ?? []
        if name != ResourcePattern.wildcardName { applying += section.literal[ResourcePattern.wildcardName] ?? [] }
        applying += section.prefixed.filter { name.hasPrefix($0.pattern.name) }
        guard !applying.isEmpty else { return .noAcl(allowed: allowEveryoneIfNoAclFound) }
        var allowing: AclBinding?
        for binding in applying {
            switch binding.entry.decision(for: principal, host: host, operation: operation) {
            case .deny: return .denied(by: binding)
            case .allow: allowing = allowing ?? binding
            default: continue
            }
        }
        return allowing.map { .allowed(by: $0) } ?? .deniedByDefault
    }

    /// Whether the principal may do `operation` on at least one resource of `resourceType` (Kafka's
    /// `authorizeByResourceType`, which InitProducerId asks for an idempotent producer: WRITE on any topic). A
    /// super user may; a DENY on the literal wildcard `*` forbids; otherwise some ALLOW (literal or prefixed) for
    /// the principal and host does, unless a DENY covers exactly the resources it names (a literal deny of the same
    /// name, a prefixed deny of a prefix of it); with no ACL of the type at all, `allow.everyone.if.no.acl.found`
    /// decides.
    public func authorizeAny(
        _ principal: KafkaPrincipal, host: String, operation: AclOperation, resourceType: AclResourceType
    )
        -> Bool
    {
        if superUsers.contains(principal.description) { return true }
        guard let section = sections[resourceType] else { return allowEveryoneIfNoAclFound }
        let bindings = section.literal.values.joined() + section.prefixed
        let decided = bindings.compactMap { binding in
            binding.entry.decision(for: principal, host: host, operation: operation).map { (binding.pattern, $0) }
        }
        let denied = decided.filter { $0.1 == .deny }.map(\.0)
        if denied.contains(where: { $0.patternType == .literal && $0.name == ResourcePattern.wildcardName }) {
            return false
        }
        return decided.contains { pattern, decision in
            decision == .allow
                && !denied.contains { deny in
                    deny.patternType == .prefixed
                        ? pattern.name.hasPrefix(deny.name)
                        : pattern.patternType == .literal && deny.name == pattern.name
                }
        }
    }
}
