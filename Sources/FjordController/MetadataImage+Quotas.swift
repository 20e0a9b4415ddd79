import FjordSecurity
import KafkaProtocol

extension MetadataImage {
    /// The entity of a record's entity data; nil for an entity this build does not serve (an `ip` quota) or a
    /// malformed one (a type twice, no component).
    static func quotaEntity(_ data: [(type: String, name: String?)]) -> ClientQuotaEntity? {
        var entity = ClientQuotaEntity()
        for (type, name) in data {
            let component: ClientQuotaEntity.Component = name.map { .name($0) } ?? .defaultEntity
            switch type {
            case ClientQuotaEntity.userType where entity.user == nil: entity.user = component
            case ClientQuotaEntity.clientIDType where entity.clientID == nil: entity.clientID = component
            default: return nil
            }
        }
        return entity.user == nil && entity.clientID == nil ? nil : entity
    }

    /// The entity data of `entity`, user first.
    public static func entityData(_ entity: ClientQuotaEntity) -> [ClientQuotaRecord.EntityData] {
        func name(_ component: ClientQuotaEntity.Component) -> String? {
            if case .name(let name) = component { return name }
            return nil
        }
        var data: [ClientQuotaRecord.EntityData] = []
        if let user = entity.user { data.append(.init(entityType: ClientQuotaEntity.userType, entityName: name(user))) }
        if let client = entity.clientID {
            data.append(.init(entityType: ClientQuotaEntity.clientIDType, entityName: name(client)))
        }
        return data
    }

    /// The records of every quota, for a snapshot.
    public var quotaSnapshotRecords: [MetadataRecord] {
        clientQuotas.keys.sorted { $0.description < $1.description }.flatMap { entity in
            clientQuotas[entity]!.keys.sorted().map { key in
                MetadataRecord.clientQuota(
                    ClientQuotaRecord(
                        entity: Self.entityData(entity), key: key, value: clientQuotas[entity]![key]!, remove: false))
            }
        }
    }

    /// The value of `key` for `user` connected as `clientID`, with the entity it comes from (Kafka's precedence).
    public func clientQuota(_ key: ClientQuotaKey, user: String, clientID: String) -> (
        entity: ClientQuotaEntity, value: Double
    )? {
        guard !clientQuotas.isEmpty else { return nil }
        for entity in ClientQuotaEntity.precedence(user: user, clientID: clientID) {
            if let value = clientQuotas[entity]?[key.rawValue] { return (entity, value) }
        }
        return nil
    }

    mutating func replayQuota(_ record: ClientQuotaRecord) {
        guard let entity = Self.quotaEntity(record.entity.map { ($0.entityType, $0.entityName) }) else { return }
        if record.remove {
            clientQuotas[entity]?[record.key] = nil
            if clientQuotas[entity]?.isEmpty == true { clientQuotas[entity] = nil }
        } else {
            clientQuotas[entity, default: [:]][record.key] = record.value
        }
    }
}
