/// Which ACLs a DescribeAcls or DeleteAcls request names: nil fields and ANY values match everything, and the
/// pattern type MATCH selects every ACL that applies to the resource named (Kafka's `AclBindingFilter`).
public struct AclBindingFilter: Sendable, Hashable {
    public var resourceType: AclResourceType
    public var name: String?
    public var patternType: AclPatternType
    public var principal: String?
    public var host: String?
    public var operation: AclOperation
    public var permission: AclPermissionType

    public init(
        resourceType: AclResourceType = .any, name: String? = nil, patternType: AclPatternType = .any,
        principal: String? = nil, host: String? = nil, operation: AclOperation = .any,
        permission: AclPermissionType = .any
    ) {
        self.resourceType = resourceType
        self.name = name
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Every ACL.
    public static let any = AclBindingFilter()

    public func matches(_ binding: AclBinding) -> Bool {
        matches(binding.pattern) && matches(binding.entry)
    }

    private func matches(_ pattern: ResourcePattern) -> Bool {
        if resourceType != .any && resourceType != pattern.resourceType { return false }
        if ![.any, .match, pattern.patternType].contains(patternType) { return false }
        guard let name else { return true }
        if patternType == .any || patternType == pattern.patternType { return name == pattern.name }
        return pattern.applies(to: name)
    }

    private func matches(_ entry: AccessControlEntry) -> Bool {
        (principal == nil || principal == entry.principal) && (host == nil || host == entry.host)
            && (operation == .any || operation == entry.operation)
            && (permission == .any || permission == entry.permission)
    }

    /// Why this filter cannot select ACLs, or nil (`AclBindingFilter.findIndefiniteField`): an UNKNOWN value.
    public var problem: String? {
        if resourceType == .unknown { return "Resource type is UNKNOWN." }
        if patternType == .unknown { return "Resource pattern type is UNKNOWN." }
        if operation == .unknown { return "Operation is UNKNOWN." }
        if permission == .unknown { return "Permission type is UNKNOWN." }
        return nil
    }
}
