import FjordSecurity
import KafkaProtocol

/// CreateAcls and DeleteAcls on the active controller, as Kafka's `AclControlManager` (with the request checks of
/// its `AclApis`): each ACL is an AccessControlEntryRecord under an id of its own; creating one that exists already
/// succeeds and writes nothing; a deletion removes every ACL its filter matches and answers with them.
public struct AclControl: Sendable {
    public let image: MetadataImage

    /// Kafka's `MAX_RECORDS_PER_USER_OP`: more changes in one request are refused.
    static let maximumRecordsPerRequest = 10_000

    public init(image: MetadataImage) {
        self.image = image
    }

    /// One answer per binding, in order: `.ok` or INVALID_REQUEST with Kafka's message. `newID` gives the id of each
    /// new ACL (random in the broker; an id in use is never reused).
    public func createAcls(_ bindings: [AclBinding], newID: () -> KafkaUUID) -> ControllerResult<[ItemResult]> {
        var existing = Set(image.acls.values)
        var usedIDs = Set(image.acls.keys)
        var records: [MetadataRecord] = []
        var results: [ItemResult] = []
        for binding in bindings {
            if let problem = Self.problem(creating: binding) {
                results.append(ItemResult(.invalidRequest, problem))
                continue
            }
            guard records.count < Self.maximumRecordsPerRequest else {
                results.append(
                    ItemResult(
                        .invalidRequest,
                        "Cannot create more than \(Self.maximumRecordsPerRequest) acls in a single operation"))
                continue
            }
            if existing.insert(binding).inserted {
                var id = newID()
                while id == KafkaUUID.zero || !usedIDs.insert(id).inserted { id = newID() }
                records.append(.accessControlEntry(MetadataImage.record(of: binding, id: id)))
            }
            results.append(.ok)
        }
        return ControllerResult(records: records, response: results)
    }

    /// Why `binding` cannot be created (Kafka's `validateNewAcl` and the CLUSTER name check), or nil.
    static func problem(creating binding: AclBinding) -> String? {
        if binding.pattern.resourceType == .cluster && binding.pattern.name != AclResourceType.clusterName {
            return "The only valid name for the CLUSTER resource is \(AclResourceType.clusterName)"
        }
        return binding.problem
    }

    /// One answer per filter, in order: the ACLs it matched (each removed), or INVALID_REQUEST. An ACL several
    /// filters match is removed once. Atomic: all the removals commit or none.
    public func deleteAcls(_ filters: [AclBindingFilter]) -> ControllerResult<[Result<[AclBinding], ItemResult>]> {
        var removed = Set<KafkaUUID>()
        var results: [Result<[AclBinding], ItemResult>] = []
        let ordered = image.acls.sorted { ($0.key.high, $0.key.low) < ($1.key.high, $1.key.low) }
        for filter in filters {
            if let problem = filter.problem {
                results.append(.failure(ItemResult(.invalidRequest, problem)))
                continue
            }
            let matched = ordered.filter { filter.matches($0.value) }
            removed.formUnion(matched.map(\.key))
            guard removed.count <= Self.maximumRecordsPerRequest else {
                return ControllerResult(
                    records: [],
                    response: filters.map { _ in
                        .failure(
                            ItemResult(
                                .invalidRequest,
                                "Cannot remove more than \(Self.maximumRecordsPerRequest) acls in a single delete operation."
                            ))
                    })
            }
            results.append(.success(matched.map(\.value)))
        }
        let records = removed.sorted { ($0.high, $0.low) < ($1.high, $1.low) }.map {
            MetadataRecord.removeAccessControlEntry(RemoveAccessControlEntryRecord(id: $0))
        }
        return ControllerResult(records: records, response: results)
    }
}
