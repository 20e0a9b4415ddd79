/// Whether an ACL allows or denies, with Kafka's wire codes (`org.apache.kafka.common.acl.AclPermissionType`).
public enum AclPermissionType: Int8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case unknown = 0
    /// In filters only: either.
    case any = 1
    case deny = 2
    case allow = 3

    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .any: "ANY"
        case .deny: "DENY"
        case .allow: "ALLOW"
        }
    }
}
