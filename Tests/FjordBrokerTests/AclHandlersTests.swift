import FjordController
import FjordSecurity
import KafkaProtocol
import Testing

@testable import FjordBroker

/// CreateAcls, DescribeAcls and DeleteAcls through the real handlers and metadata service of a node
/// (BrokerHarness), with and without `authorizer.class.name`.
@Suite struct AclHandlersTests {
    static let authorizer = [
        ("authorizer.class.name", BrokerAuthorizer.standardAuthorizerClassName),
        ("allow.everyone.if.no.acl.found", "true"),
    ]

    static func creation(
        _ type: AclResourceType, _ name: String, _ pattern: AclPatternType = .literal, principal: String = "User:alice",
        _ operation: AclOperation = .read, _ permission: AclPermissionType = .allow
    ) -> CreateAclsRequest.AclCreation {
        .init(
            resourceType: type.rawValue, resourceName: name, resourcePatternType: pattern.rawValue,
            principal: principal, host: "*", operation: operation.rawValue, permissionType: permission.rawValue)
    }

    static let everything = DescribeAclsRequest(
        resourceTypeFilter: AclResourceType.any.rawValue, resourceNameFilter: nil,
        patternTypeFilter: AclPatternType.any.rawValue, principalFilter: nil, hostFilter: nil,
        operation: AclOperation.any.rawValue, permissionType: AclPermissionType.any.rawValue)

    /// Flow: without an authorizer every ACL API answers SECURITY_DISABLED and nothing is written.
    @Test func withoutAnAuthorizerTheAclApisAreDisabled() async throws {
        try await BrokerHarness.withBroker { broker in
            let before = broker.image.lastAppliedOffset
            let created = try await broker.call(
                CreateAclsHandler(services: broker.services),
                CreateAclsRequest(creations: [Self.creation(.topic, "t")]), version: 3)
            #expect(created.results.map(\.errorCode) == [ErrorCode.securityDisabled.rawValue])
            let described = try await broker.call(
                DescribeAclsHandler(services: broker.services), Self.everything, version: 3)
            #expect(described.errorCode == ErrorCode.securityDisabled.rawValue)
            let deleted = try await broker.call(
                DeleteAclsHandler(services: broker.services),
                DeleteAclsRequest(filters: [
                    .init(resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1)
                ]),
                version: 3)
            #expect(deleted.filterResults.map(\.errorCode) == [ErrorCode.securityDisabled.rawValue])
            #expect(broker.image.lastAppliedOffset == before)
        }
    }

    /// Flow: 1. three creations, one refused (a CLUSTER resource must be named kafka-cluster): the two others
    /// commit; 2. DescribeAcls groups them by resource pattern; 3. a filter with an UNKNOWN operation is
    /// INVALID_REQUEST; 4. a deletion answers what it removed, and the image keeps the rest.
    @Test func aclsAreCreatedDescribedAndDeleted() async throws {
        try await BrokerHarness.withBroker(Self.authorizer) { broker in
            let services = broker.services
            let created = try await broker.call(
                CreateAclsHandler(services: services),
                CreateAclsRequest(creations: [
                    Self.creation(.topic, "orders"), Self.creation(.topic, "orders", principal: "User:bob", .write),
                    Self.creation(.cluster, "not-the-cluster", .literal, .alter),
                ]), version: 3)
            #expect(
                created.results.map(\.errorCode)
                    == [0, 0, ErrorCode.invalidRequest.rawValue])
            #expect(created.results[2].errorMessage == "The only valid name for the CLUSTER resource is kafka-cluster")
            #expect(broker.image.acls.count == 2)

            let described = try await broker.call(DescribeAclsHandler(services: services), Self.everything, version: 3)
            #expect(described.errorCode == 0)
            #expect(described.resources.map(\.resourceName) == ["orders"])
            #expect(described.resources.first?.acls.map(\.principal).sorted() == ["User:alice", "User:bob"])

            var unknown = Self.everything
            unknown.operation = AclOperation.unknown.rawValue
            let refused = try await broker.call(DescribeAclsHandler(services: services), unknown, version: 3)
            #expect(refused.errorCode == ErrorCode.invalidRequest.rawValue)

            let deleted = try await broker.call(
                DeleteAclsHandler(services: services),
                DeleteAclsRequest(filters: [
                    .init(
                        resourceTypeFilter: AclResourceType.topic.rawValue, resourceNameFilter: "orders",
                        patternTypeFilter: AclPatternType.literal.rawValue, principalFilter: "User:bob",
                        hostFilter: nil,
                        operation: AclOperation.any.rawValue, permissionType: AclPermissionType.any.rawValue)
                ]), version: 3)
            #expect(deleted.filterResults.first?.matchingAcls.map(\.principal) == ["User:bob"])
            #expect(broker.image.acls.values.map(\.entry.principal) == ["User:alice"])
        }
    }
}
