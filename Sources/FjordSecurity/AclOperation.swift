/// What a principal may do to a resource, with Kafka's wire codes (`org.apache.kafka.common.acl.AclOperation`).
public enum AclOperation: Int8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case unknown = 0
    /// In filters only: every operation.
    case any = 1
    /// In an ACL: every operation.
    case all = 2
    case read = 3
    case write = 4
    case create = 5
    case delete = 6
    case alter = 7
    case describe = 8
    case clusterAction = 9
    case describeConfigs = 10
    case alterConfigs = 11
    case idempotentWrite = 12
    case createTokens = 13
    case describeTokens = 14

    /// Kafka's name: `READ`, `DESCRIBE_CONFIGS`, ...
    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .any: "ANY"
        case .all: "ALL"
        case .read: "READ"
        case .write: "WRITE"
        case .create: "CREATE"
        case .delete: "DELETE"
        case .alter: "ALTER"
        case .describe: "DESCRIBE"
        case .clusterAction: "CLUSTER_ACTION"
        case .describeConfigs: "DESCRIBE_CONFIGS"
        case .alterConfigs: "ALTER_CONFIGS"
        case .idempotentWrite: "IDEMPOTENT_WRITE"
        case .createTokens: "CREATE_TOKENS"
        case .describeTokens: "DESCRIBE_TOKENS"
        }
    }

    /// Whether an ALLOW entry for `self` also allows `requested`: every operation allows itself; READ, WRITE,
    /// DELETE and ALTER allow DESCRIBE; ALTER_CONFIGS allows DESCRIBE_CONFIGS (Kafka's implied operations). A DENY
    /// entry denies only the operation it names (or every one, for ALL).
    public func allows(_ requested: AclOperation) -> Bool {
        if self == .all || self == requested { return true }
        switch requested {
        case .describe: return [.read, .write, .delete, .alter].contains(self)
        case .describeConfigs: return self == .alterConfigs
        default: return false
        }
    }
}
