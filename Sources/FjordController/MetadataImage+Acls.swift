import FjordSecurity
import KafkaProtocol

extension MetadataImage {
    /// The binding an AccessControlEntryRecord stores; nil when it holds a value this build does not know (a
    /// newer controller's), which is then skipped as Kafka's `StandardAcl.fromRecord` would refuse it.
    static func binding(of record: AccessControlEntryRecord) -> AclBinding? {
        guard let type = AclResourceType(rawValue: record.resourceType),
            let pattern = AclPatternType(rawValue: record.patternType),
            let operation = AclOperation(rawValue: record.operation),
            let permission = AclPermissionType(rawValue: record.permissionType)
        else { return nil }
        let binding = AclBinding(
            ResourcePattern(type, record.resourceName, pattern),
            AccessControlEntry(
                principal: record.principal, host: record.host, operation: operation, permission: permission))
        return binding.problem == nil ? binding : nil
    }

    /// The record that stores `binding` under `id`.
    static func record(of binding: AclBinding, id: KafkaUUID) -> AccessControlEntryRecord {
        AccessControlEntryRecord(
            id: id, resourceType: binding.pattern.resourceType.rawValue, resourceName: binding.pattern.name,
            patternType: binding.pattern.patternType.rawValue, principal: binding.entry.principal,
            host: binding.entry.host, operation: binding.entry.operation.rawValue,
            permissionType: binding.entry.permission.rawValue)
    }

    /// The records of every ACL, in id order, for a snapshot.
    public var aclSnapshotRecords: [MetadataRecord] {
        acls.keys.sorted { ($0.high, $0.low) < ($1.high, $1.low) }.map {
            .accessControlEntry(Self.record(of: acls[$0]!, id: $0))
        }
    }

    mutating func replayAcl(_ record: MetadataRecord) {
        switch record {
        case .accessControlEntry(let entry):
            acls[entry.id] = Self.binding(of: entry)
        case .removeAccessControlEntry(let remove):
            acls.removeValue(forKey: remove.id)
        default:
            preconditionFailure("replayAcl given \(record)")
        }
    }
}
