import FjordSecurity
import KafkaProtocol
import NIOCore

/// ACLs and SCRAM credentials as an operator manages them (Kafka's `kafka-acls.sh` and `kafka-configs.sh
/// --entity-type users`): CreateAcls, DescribeAcls and DeleteAcls; AlterUserScramCredentials (the password is salted
/// here, as Kafka's Admin does, so it never travels) and DescribeUserScramCredentials.
extension Admin {
    // MARK: ACLs

    /// Creates `bindings`; one result per binding, in order.
    public func createAcls(_ bindings: [AclBinding]) async throws -> [Result<Void, ClientError>] {
        let request = CreateAclsRequest(
            creations: bindings.map {
                CreateAclsRequest.AclCreation(
                    resourceType: $0.pattern.resourceType.rawValue, resourceName: $0.pattern.name,
                    resourcePatternType: $0.pattern.patternType.rawValue, principal: $0.entry.principal,
                    host: $0.entry.host, operation: $0.entry.operation.rawValue,
                    permissionType: $0.entry.permission.rawValue)
            })
        let response = try await client.sendToAny(request)
        return zip(bindings, response.results).map { binding, result in
            if let error = ClientError.kafka(result.errorCode, result.errorMessage ?? "CreateAcls \(binding) failed") {
                return .failure(error)
            }
            return .success(())
        }
    }

    /// The ACLs `filter` selects.
    public func describeAcls(_ filter: AclBindingFilter = .any) async throws -> [AclBinding] {
        let request = DescribeAclsRequest(
            resourceTypeFilter: filter.resourceType.rawValue, resourceNameFilter: filter.name,
            patternTypeFilter: filter.patternType.rawValue, principalFilter: filter.principal,
            hostFilter: filter.host, operation: filter.operation.rawValue, permissionType: filter.permission.rawValue)
        let response = try await client.sendToAny(request)
        if let error = ClientError.kafka(response.errorCode, response.errorMessage ?? "DescribeAcls failed") {
            throw error
        }
        return response.resources.flatMap { resource in
            resource.acls.compactMap { acl in
                Self.binding(
                    resourceType: resource.resourceType, name: resource.resourceName,
                    patternType: resource.patternType, principal: acl.principal, host: acl.host,
                    operation: acl.operation, permission: acl.permissionType)
            }
        }
    }

    /// Deletes the ACLs each filter selects; per filter, the ACLs it removed.
    public func deleteAcls(_ filters: [AclBindingFilter]) async throws -> [Result<[AclBinding], ClientError>] {
        let request = DeleteAclsRequest(
            filters: filters.map {
                DeleteAclsRequest.DeleteAclsFilter(
                    resourceTypeFilter: $0.resourceType.rawValue, resourceNameFilter: $0.name,
                    patternTypeFilter: $0.patternType.rawValue, principalFilter: $0.principal,
                    hostFilter: $0.host, operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
            })
        let response = try await client.sendToAny(request)
        return response.filterResults.map { result in
            if let error = ClientError.kafka(result.errorCode, result.errorMessage ?? "DeleteAcls failed") {
                return .failure(error)
            }
            return .success(
                result.matchingAcls.compactMap {
                    Self.binding(
                        resourceType: $0.resourceType, name: $0.resourceName, patternType: $0.patternType,
                        principal: $0.principal, host: $0.host, operation: $0.operation,
                        permission: $0.permissionType)
                })
        }
    }

    /// A binding from wire codes; nil for a code this build does not know.
    static func binding(
        resourceType: Int8, name: String, patternType: Int8, principal: String, host: String, operation: Int8,
        permission: Int8
    ) -> AclBinding? {
        guard let type = AclResourceType(rawValue: resourceType), let pattern = AclPatternType(rawValue: patternType),
            let operation = AclOperation(rawValue: operation), let permission = AclPermissionType(rawValue: permission)
        else { return nil }
        return AclBinding(
            ResourcePattern(type, name, pattern),
            AccessControlEntry(principal: principal, host: host, operation: operation, permission: permission))
    }

    // MARK: SCRAM credentials

    /// A SCRAM credential to set: the password is salted here with a random salt.
    public struct ScramCredentialUpsertion: Sendable {
        public var user: String
        public var mechanism: ScramMechanism
        public var password: String
        public var iterations: Int32

        public init(user: String, mechanism: ScramMechanism, password: String, iterations: Int32 = 4096) {
            self.user = user
            self.mechanism = mechanism
            self.password = password
            self.iterations = iterations
        }
    }

    /// Sets and deletes SCRAM credentials; one result per user.
    public func alterUserScramCredentials(
        upsertions: [ScramCredentialUpsertion], deletions: [(user: String, mechanism: ScramMechanism)] = []
    ) async throws -> [String: Result<Void, ClientError>] {
        let request = AlterUserScramCredentialsRequest(
            deletions: deletions.map { .init(name: $0.user, mechanism: $0.mechanism.rawValue) },
            upsertions: upsertions.map { upsertion in
                var generator = SystemRandomNumberGenerator()
                let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let salted = upsertion.mechanism.saltedPassword(
                    Array(upsertion.password.utf8), salt: salt, iterations: upsertion.iterations)
                return .init(
                    name: upsertion.user, mechanism: upsertion.mechanism.rawValue, iterations: upsertion.iterations,
                    salt: ByteBuffer(bytes: salt), saltedPassword: ByteBuffer(bytes: salted))
            })
        let response = try await client.sendToAny(request)
        var results: [String: Result<Void, ClientError>] = [:]
        for result in response.results {
            if let error = ClientError.kafka(
                result.errorCode, result.errorMessage ?? "AlterUserScramCredentials \(result.user) failed")
            {
                results[result.user] = .failure(error)
            } else {
                results[result.user] = .success(())
            }
        }
        return results
    }

    /// Each user's SCRAM mechanisms and iteration counts (every user with a credential when `users` is nil).
    public func describeUserScramCredentials(_ users: [String]? = nil) async throws -> [String: Result<
        [(mechanism: ScramMechanism, iterations: Int32)], ClientError
    >] {
        let request = DescribeUserScramCredentialsRequest(users: users.map { $0.map { .init(name: $0) } })
        let response = try await client.sendToAny(request)
        if let error = ClientError.kafka(
            response.errorCode, response.errorMessage ?? "DescribeUserScramCredentials failed")
        {
            throw error
        }
        var results: [String: Result<[(mechanism: ScramMechanism, iterations: Int32)], ClientError>] = [:]
        for result in response.results {
            if let error = ClientError.kafka(
                result.errorCode, result.errorMessage ?? "DescribeUserScramCredentials \(result.user) failed")
            {
                results[result.user] = .failure(error)
            } else {
                results[result.user] = .success(
                    result.credentialInfos.compactMap { info in
                        ScramMechanism(rawValue: info.mechanism).map { ($0, info.iterations) }
                    })
            }
        }
        return results
    }
}
