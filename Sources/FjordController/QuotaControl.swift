import FjordSecurity
import KafkaProtocol

/// AlterClientQuotas on the active controller and DescribeClientQuotas from the image, as Kafka's
/// `ClientQuotaControlManager` and `ClientQuotaImage` answer them: each set or removal a ClientQuotaRecord; an entry
/// with an unknown entity type, an unknown key or a bad value is refused whole (INVALID_REQUEST), the others apply.
public struct QuotaControl: Sendable {
    public let image: MetadataImage

    public init(image: MetadataImage) {
        self.image = image
    }

    public struct Operation: Sendable {
        public var key: String
        public var value: Double
        public var remove: Bool

        public init(key: String, value: Double, remove: Bool) {
            self.key = key
            self.value = value
            self.remove = remove
        }
    }

    /// One result per entry, in order; `validateOnly` writes nothing.
    public func alter(
        _ entries: [(entity: [(type: String, name: String?)], operations: [Operation])], validateOnly: Bool
    ) -> ControllerResult<[ItemResult]> {
        var records: [MetadataRecord] = []
        var results: [ItemResult] = []
        for entry in entries {
            guard let entity = MetadataImage.quotaEntity(entry.entity) else {
                results.append(
                    ItemResult(
                        .invalidRequest,
                        "Invalid quota entity: only user and client-id, each at most once, are served"))
                continue
            }
            var entryRecords: [MetadataRecord] = []
            var problem: String?
            var seenKeys = Set<String>()
            for operation in entry.operations {
                guard let key = ClientQuotaKey(rawValue: operation.key) else {
                    problem = "Invalid configuration key \(operation.key)"
                    break
                }
                guard seenKeys.insert(operation.key).inserted else {
                    problem = "Duplicate quota key \(operation.key)"
                    break
                }
                if !operation.remove, let why = key.problem(operation.value) {
                    problem = why
                    break
                }
                entryRecords.append(
                    .clientQuota(
                        ClientQuotaRecord(
                            entity: MetadataImage.entityData(entity), key: operation.key,
                            value: operation.remove ? 0 : operation.value, remove: operation.remove)))
            }
            if let problem {
                results.append(ItemResult(.invalidRequest, problem))
            } else {
                if !validateOnly { records += entryRecords }
                results.append(.ok)
            }
        }
        return ControllerResult(records: records, response: results)
    }

    /// A DescribeClientQuotas filter component: an entity type and how its name must match.
    public enum Match: Sendable {
        /// This name (`nil`: the default entity).
        case exact(String?)
        case defaultEntity
        /// Any name, or the default.
        case specified
    }

    /// The quotas of the entities the filter selects (every component must match; `strict`: the entity has no
    /// other component), by entity.
    public func describe(_ components: [(type: String, match: Match)], strict: Bool) -> [(
        entity: ClientQuotaEntity, values: [String: Double]
    )] {
        image.clientQuotas.filter { entity, _ in
            for (type, match) in components {
                let component = type == ClientQuotaEntity.userType ? entity.user : entity.clientID
                guard let component else { return false }
                switch (match, component) {
                case (.specified, _): continue
                case (.defaultEntity, .defaultEntity): continue
                case (.exact(nil), .defaultEntity): continue
                case (.exact(let name?), .name(let actual)) where name == actual: continue
                default: return false
                }
            }
            if strict {
                let types = Set(components.map(\.type))
                if entity.user != nil, !types.contains(ClientQuotaEntity.userType) { return false }
                if entity.clientID != nil, !types.contains(ClientQuotaEntity.clientIDType) { return false }
            }
            return true
        }.map { ($0.key, $0.value) }.sorted { $0.entity.description < $1.entity.description }
    }
}
