/// The resources an ACL applies to: a type, a name and how the name matches (`LITERAL` with `*` for every
/// resource of the type, or `PREFIXED`).
public struct ResourcePattern: Sendable, Hashable, CustomStringConvertible {
    public var resourceType: AclResourceType
    public var name: String
    public var patternType: AclPatternType

    /// The literal name that stands for every resource of a type.
    public static let wildcardName = "*"

    public init(_ resourceType: AclResourceType, _ name: String, _ patternType: AclPatternType = .literal) {
        self.resourceType = resourceType
        self.name = name
        self.patternType = patternType
    }

    /// Whether this pattern applies to the resource `name` of its type.
    public func applies(to name: String) -> Bool {
        switch patternType {
        case .literal: return self.name == name || self.name == Self.wildcardName
        case .prefixed: return name.hasPrefix(self.name)
        default: return false
        }
    }

    public var description: String {
        "ResourcePattern(resourceType=\(resourceType), name=\(name), patternType=\(patternType))"
    }
}
