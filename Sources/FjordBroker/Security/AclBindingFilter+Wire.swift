import FjordSecurity

extension AclBindingFilter {
    /// A filter as DescribeAcls and DeleteAcls carry it on the wire: a code this build does not know becomes
    /// UNKNOWN, which `problem` refuses.
    init(
        wireResourceType resourceType: Int8, name: String?, patternType: Int8, principal: String?, host: String?,
        operation: Int8, permission: Int8
    ) {
        self.init(
            resourceType: AclResourceType(rawValue: resourceType) ?? .unknown, name: name,
            patternType: AclPatternType(rawValue: patternType) ?? .unknown, principal: principal, host: host,
            operation: AclOperation(rawValue: operation) ?? .unknown,
            permission: AclPermissionType(rawValue: permission) ?? .unknown)
    }
}
