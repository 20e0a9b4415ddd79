/// Who, from where, may or may not do what: the part of an ACL that is not the resource.
public struct AccessControlEntry: Sendable, Hashable, CustomStringConvertible {
    /// `User:alice`, or `User:*` for every user.
    public var principal: String
    /// An IP address, or `*` for every host.
    public var host: String
    public var operation: AclOperation
    public var permission: AclPermissionType

    public static let wildcardHost = "*"

    public init(principal: String, host: String = wildcardHost, operation: AclOperation, permission: AclPermissionType)
    {
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Whether this entry decides `operation` by `principal` from `host`: `.allow` or `.deny`, nil when it does not
    /// apply (another principal or host, or an operation it neither names nor implies).
    public func decision(for principal: KafkaPrincipal, host: String, operation: AclOperation) -> AclPermissionType? {
        guard self.principal == principal.description || self.principal == KafkaPrincipal.wildcard.description,
            self.host == Self.wildcardHost || self.host == host
        else { return nil }
        switch permission {
        case .allow: return self.operation.allows(operation) ? .allow : nil
        case .deny: return self.operation == .all || self.operation == operation ? .deny : nil
        default: return nil
        }
    }

    public var description: String {
        "(principal=\(principal), host=\(host), operation=\(operation), permissionType=\(permission))"
    }
}
