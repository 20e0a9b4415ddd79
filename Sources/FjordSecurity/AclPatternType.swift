/// How an ACL's resource name matches resources, with Kafka's wire codes
/// (`org.apache.kafka.common.resource.PatternType`).
public enum AclPatternType: Int8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case unknown = 0
    /// In filters only: any pattern type, the name compared as it is.
    case any = 1
    /// In filters only: every ACL that would apply to the resource named (literal, wildcard, prefixes of it).
    case match = 2
    /// The name as it is; `*` is every resource of the type.
    case literal = 3
    /// Every resource whose name starts with the name.
    case prefixed = 4

    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .any: "ANY"
        case .match: "MATCH"
        case .literal: "LITERAL"
        case .prefixed: "PREFIXED"
        }
    }
}
