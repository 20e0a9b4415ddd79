import Testing

@testable import FjordSecurity

/// Kafka's StandardAuthorizer rules, one at a time, then together.
@Suite struct StandardAuthorizerTests {
    let alice = KafkaPrincipal.user("alice")
    let bob = KafkaPrincipal.user("bob")

    func allow(_ principal: String, _ operation: AclOperation, on pattern: ResourcePattern, host: String = "*")
        -> AclBinding
    {
        AclBinding(
            pattern, AccessControlEntry(principal: principal, host: host, operation: operation, permission: .allow))
    }

    func deny(_ principal: String, _ operation: AclOperation, on pattern: ResourcePattern, host: String = "*")
        -> AclBinding
    {
        AclBinding(
            pattern, AccessControlEntry(principal: principal, host: host, operation: operation, permission: .deny))
    }

    func allowed(
        _ authorizer: StandardAuthorizer, _ principal: KafkaPrincipal, _ operation: AclOperation,
        _ name: String, type: AclResourceType = .topic, host: String = "10.0.0.1"
    ) -> Bool {
        authorizer.authorize(principal, host: host, operation: operation, resourceType: type, name: name).isAllowed
    }

    @Test func withoutAnyAclTheDefaultDecides() {
        let closed = StandardAuthorizer(bindings: [])
        #expect(!allowed(closed, alice, .read, "orders"))
        let open = StandardAuthorizer(bindings: [], allowEveryoneIfNoAclFound: true)
        #expect(allowed(open, alice, .read, "orders"))
        #expect(
            open.authorize(alice, host: "h", operation: .read, resourceType: .topic, name: "o") == .noAcl(allowed: true)
        )
    }

    @Test func anAclOnTheResourceForSomeoneElseDeniesEvenWhenEveryoneIsAllowedWithoutAcls() {
        let authorizer = StandardAuthorizer(
            bindings: [allow("User:bob", .read, on: ResourcePattern(.topic, "orders"))], allowEveryoneIfNoAclFound: true
        )
        #expect(allowed(authorizer, bob, .read, "orders"))
        #expect(!allowed(authorizer, alice, .read, "orders"))
        #expect(
            authorizer.authorize(alice, host: "h", operation: .read, resourceType: .topic, name: "orders")
                == .deniedByDefault)
        // Another topic has no ACL at all: the default (here open) decides.
        #expect(allowed(authorizer, alice, .read, "payments"))
    }

    @Test func literalWildcardAndPrefixedPatternsApply() {
        let authorizer = StandardAuthorizer(bindings: [
            allow("User:alice", .write, on: ResourcePattern(.topic, "orders")),
            allow("User:alice", .read, on: ResourcePattern(.topic, "*")),
            allow("User:alice", .create, on: ResourcePattern(.topic, "team-", .prefixed)),
        ])
        #expect(allowed(authorizer, alice, .write, "orders"))
        #expect(!allowed(authorizer, alice, .write, "orders2"), "a literal name is not a prefix")
        #expect(allowed(authorizer, alice, .read, "anything"))
        #expect(allowed(authorizer, alice, .create, "team-a"))
        #expect(!allowed(authorizer, alice, .create, "team"))
        #expect(!allowed(authorizer, alice, .read, "orders", type: .group), "ACLs are per resource type")
    }

    @Test func denyWinsOverAllowWhateverTheOrderOrPattern() {
        let authorizer = StandardAuthorizer(bindings: [
            allow("User:*", .all, on: ResourcePattern(.topic, "*")),
            deny("User:alice", .write, on: ResourcePattern(.topic, "secret-", .prefixed)),
        ])
        #expect(!allowed(authorizer, alice, .write, "secret-plans"))
        #expect(allowed(authorizer, alice, .read, "secret-plans"), "a DENY names its operation only")
        #expect(allowed(authorizer, bob, .write, "secret-plans"))
        let denyAll = StandardAuthorizer(bindings: [
            allow("User:alice", .read, on: ResourcePattern(.topic, "t")),
            deny("User:*", .all, on: ResourcePattern(.topic, "t")),
        ])
        #expect(!allowed(denyAll, alice, .read, "t"))
        #expect(!allowed(denyAll, alice, .describe, "t"))
    }

    @Test func allowImpliesDescribeButDenyImpliesNothing() {
        for operation in [AclOperation.read, .write, .delete, .alter] {
            let authorizer = StandardAuthorizer(bindings: [
                allow("User:alice", operation, on: ResourcePattern(.topic, "t"))
            ])
            #expect(allowed(authorizer, alice, .describe, "t"), "\(operation) implies DESCRIBE")
        }
        let create = StandardAuthorizer(bindings: [allow("User:alice", .create, on: ResourcePattern(.topic, "t"))])
        #expect(!allowed(create, alice, .describe, "t"), "CREATE does not imply DESCRIBE")
        let configs = StandardAuthorizer(bindings: [
            allow("User:alice", .alterConfigs, on: ResourcePattern(.topic, "t"))
        ])
        #expect(allowed(configs, alice, .describeConfigs, "t"))
        #expect(!allowed(configs, alice, .describe, "t"))
        let denyRead = StandardAuthorizer(bindings: [
            allow("User:alice", .describe, on: ResourcePattern(.topic, "t")),
            deny("User:alice", .read, on: ResourcePattern(.topic, "t")),
        ])
        #expect(allowed(denyRead, alice, .describe, "t"), "a DENY of READ does not deny DESCRIBE")
        #expect(!allowed(denyRead, alice, .read, "t"))
    }

    @Test func hostsMustMatchUnlessWildcard() {
        let authorizer = StandardAuthorizer(bindings: [
            allow("User:alice", .read, on: ResourcePattern(.topic, "t"), host: "10.0.0.1"),
            deny("User:alice", .read, on: ResourcePattern(.topic, "u"), host: "10.0.0.9"),
            allow("User:alice", .read, on: ResourcePattern(.topic, "u")),
        ])
        #expect(allowed(authorizer, alice, .read, "t", host: "10.0.0.1"))
        #expect(!allowed(authorizer, alice, .read, "t", host: "10.0.0.2"))
        #expect(allowed(authorizer, alice, .read, "u", host: "10.0.0.1"))
        #expect(!allowed(authorizer, alice, .read, "u", host: "10.0.0.9"))
    }

    @Test func superUsersMayDoEverything() {
        var authorizer = StandardAuthorizer(bindings: [
            deny("User:*", .all, on: ResourcePattern(.cluster, "kafka-cluster"))
        ])
        authorizer.superUsers = StandardAuthorizer.superUsers(fromConfig: " User:admin ; User:broker;")
        #expect(authorizer.superUsers == ["User:admin", "User:broker"])
        #expect(allowed(authorizer, .user("admin"), .alter, "kafka-cluster", type: .cluster))
        #expect(!allowed(authorizer, alice, .alter, "kafka-cluster", type: .cluster))
    }

    @Test func principalsParseAsKafkaWritesThem() {
        #expect(KafkaPrincipal(parsing: "User:alice") == .user("alice"))
        #expect(KafkaPrincipal(parsing: "User:CN=a,O=b:c")?.name == "CN=a,O=b:c")
        #expect(KafkaPrincipal(parsing: "alice") == nil)
        #expect(KafkaPrincipal(parsing: ":alice") == nil)
        #expect(KafkaPrincipal(parsing: "User:") == nil)
    }

    @Test func writeOnSomeTopicAsAnIdempotentProducerAsksIt() {
        // Kafka's authorizeByResourceType: any ALLOW for the principal that no DENY covers exactly.
        let literal = ResourcePattern(.topic, "orders")
        let prefixed = ResourcePattern(.topic, "logs-", .prefixed)
        #expect(
            StandardAuthorizer(bindings: [allow("User:alice", .write, on: literal)])
                .authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
        #expect(
            !StandardAuthorizer(bindings: [allow("User:alice", .read, on: literal)])
                .authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
        #expect(
            !StandardAuthorizer(bindings: [allow("User:alice", .write, on: literal)])
                .authorizeAny(bob, host: "h", operation: .write, resourceType: .topic))
        // A deny of the same literal name, or of a prefix of it, takes the allow back; a deny elsewhere does not.
        #expect(
            !StandardAuthorizer(bindings: [
                allow("User:alice", .write, on: literal),
                deny("User:alice", .write, on: ResourcePattern(.topic, "ord", .prefixed)),
            ]).authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
        #expect(
            StandardAuthorizer(bindings: [
                allow("User:alice", .write, on: prefixed), deny("User:alice", .write, on: literal),
            ]).authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
        // A deny on the wildcard forbids everything; a super user may; no topic ACL at all: the default decides.
        #expect(
            !StandardAuthorizer(bindings: [
                allow("User:alice", .write, on: prefixed), deny("User:*", .all, on: ResourcePattern(.topic, "*")),
            ]).authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
        #expect(
            StandardAuthorizer(bindings: [], superUsers: ["User:alice"])
                .authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
        #expect(
            StandardAuthorizer(bindings: [], allowEveryoneIfNoAclFound: true)
                .authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
        #expect(
            !StandardAuthorizer(bindings: [])
                .authorizeAny(alice, host: "h", operation: .write, resourceType: .topic))
    }

    @Test func authorizedOperationsAreABitPerOperationCode() {
        #expect(AclOperation.bitField([.read, .write]) == (1 << 3) | (1 << 4))
        #expect(AclResourceType.topic.supportedOperations.count == 8)
        #expect(!AclResourceType.group.supportedOperations.contains(.write))
    }
}
