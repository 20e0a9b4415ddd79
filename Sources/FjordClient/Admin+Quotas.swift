import FjordSecurity
import KafkaProtocol

/// Client quotas as Kafka's `kafka-configs.sh --entity-type users|clients` manages them: AlterClientQuotas and
/// DescribeClientQuotas.
extension Admin {
    /// Sets (`value`) or removes (nil) quota keys of `entity`; `validateOnly` checks without changing anything.
    public func alterClientQuotas(
        _ entity: ClientQuotaEntity, _ changes: [ClientQuotaKey: Double?], validateOnly: Bool = false
    ) async throws {
        let request = AlterClientQuotasRequest(
            entries: [
                .init(
                    entity: Self.wireEntity(entity).map { .init(entityType: $0.type, entityName: $0.name) },
                    ops: changes.keys.sorted { $0.rawValue < $1.rawValue }.map { key in
                        .init(key: key.rawValue, value: changes[key]!.flatMap { $0 } ?? 0, remove: changes[key]! == nil)
                    })
            ], validateOnly: validateOnly)
        let response = try await client.sendToAny(request)
        for entry in response.entries {
            if let error = ClientError.kafka(entry.errorCode, entry.errorMessage ?? "AlterClientQuotas failed") {
                throw error
            }
        }
    }

    /// The quotas of the entities that match: with `user` and/or `clientID` given (a name, or `.defaultEntity`),
    /// only entities with that component; with neither, every entity.
    public func describeClientQuotas(
        user: ClientQuotaEntity.Component? = nil, clientID: ClientQuotaEntity.Component? = nil
    )
        async throws -> [(entity: ClientQuotaEntity, values: [String: Double])]
    {
        var components: [DescribeClientQuotasRequest.ComponentData] = []
        func component(_ type: String, _ value: ClientQuotaEntity.Component)
            -> DescribeClientQuotasRequest.ComponentData
        {
            switch value {
            case .name(let name): .init(entityType: type, matchType: 0, match: name)
            case .defaultEntity: .init(entityType: type, matchType: 1, match: nil)
            }
        }
        if let user { components.append(component(ClientQuotaEntity.userType, user)) }
        if let clientID { components.append(component(ClientQuotaEntity.clientIDType, clientID)) }
        let response = try await client.sendToAny(DescribeClientQuotasRequest(components: components, strict: false))
        if let error = ClientError.kafka(response.errorCode, response.errorMessage ?? "DescribeClientQuotas failed") {
            throw error
        }
        return (response.entries ?? []).compactMap { entry in
            var entity = ClientQuotaEntity()
            for part in entry.entity {
                let value: ClientQuotaEntity.Component = part.entityName.map { .name($0) } ?? .defaultEntity
                if part.entityType == ClientQuotaEntity.userType { entity.user = value }
                if part.entityType == ClientQuotaEntity.clientIDType { entity.clientID = value }
            }
            var values: [String: Double] = [:]
            for value in entry.values { values[value.key] = value.value }
            return (entity, values)
        }
    }

    static func wireEntity(_ entity: ClientQuotaEntity) -> [(type: String, name: String?)] {
        func name(_ component: ClientQuotaEntity.Component) -> String? {
            if case .name(let name) = component { return name }
            return nil
        }
        var parts: [(type: String, name: String?)] = []
        if let user = entity.user { parts.append((ClientQuotaEntity.userType, name(user))) }
        if let client = entity.clientID { parts.append((ClientQuotaEntity.clientIDType, name(client))) }
        return parts
    }
}
