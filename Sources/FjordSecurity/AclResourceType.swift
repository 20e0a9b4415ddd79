/// The kinds of resource an ACL can name, with Kafka's wire codes (`org.apache.kafka.common.resource.ResourceType`).
public enum AclResourceType: Int8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case unknown = 0
    /// In filters only: every type.
    case any = 1
    case topic = 2
    case group = 3
    case cluster = 4
    case transactionalID = 5
    case delegationToken = 6
    case user = 7

    /// Kafka's name: `TOPIC`, `TRANSACTIONAL_ID`, ...
    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .any: "ANY"
        case .topic: "TOPIC"
        case .group: "GROUP"
        case .cluster: "CLUSTER"
        case .transactionalID: "TRANSACTIONAL_ID"
        case .delegationToken: "DELEGATION_TOKEN"
        case .user: "USER"
        }
    }

    /// The one cluster resource's name.
    public static let clusterName = "kafka-cluster"

    /// The operations an ACL on this type can grant (Kafka's `AclEntry.supportedOperations`), which the
    /// authorized-operations fields of Metadata, DescribeCluster and DescribeGroups report on.
    public var supportedOperations: [AclOperation] {
        switch self {
        case .topic: [.read, .write, .create, .describe, .delete, .alter, .describeConfigs, .alterConfigs]
        case .group: [.read, .describe, .delete]
        case .cluster: [.create, .clusterAction, .describeConfigs, .alterConfigs, .idempotentWrite, .alter, .describe]
        case .transactionalID: [.describe, .write]
        case .delegationToken: [.describe]
        case .user: [.createTokens, .describeTokens]
        case .unknown, .any: []
        }
    }
}

extension AclOperation {
    /// Operations as an authorized-operations field carries them: bit `code` set for each (Kafka's
    /// `Utils.to32BitField`).
    public static func bitField(_ operations: some Sequence<AclOperation>) -> Int32 {
        operations.reduce(Int32(0)) { $0 | (Int32(1) << Int32($1.rawValue)) }
    }
}
