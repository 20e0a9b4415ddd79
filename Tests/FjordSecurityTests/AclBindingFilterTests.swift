import Testing

@testable import FjordSecurity

/// DescribeAcls / DeleteAcls filters as Kafka's `AclBindingFilter` matches them, and the bindings CreateAcls refuses.
@Suite struct AclBindingFilterTests {
    let literal = AclBinding(
        ResourcePattern(.topic, "orders"),
        AccessControlEntry(principal: "User:alice", operation: .read, permission: .allow))
    let wildcard = AclBinding(
        ResourcePattern(.topic, "*"), AccessControlEntry(principal: "User:bob", operation: .write, permission: .deny))
    let prefixed = AclBinding(
        ResourcePattern(.topic, "ord", .prefixed),
        AccessControlEntry(principal: "User:alice", host: "10.0.0.1", operation: .describe, permission: .allow))
    let group = AclBinding(
        ResourcePattern(.group, "orders"),
        AccessControlEntry(principal: "User:alice", operation: .read, permission: .allow))

    var all: [AclBinding] { [literal, wildcard, prefixed, group] }

    func selected(_ filter: AclBindingFilter) -> [AclBinding] { all.filter(filter.matches) }

    @Test func nilAndAnyMatchEverything() {
        #expect(selected(.any) == all)
        #expect(selected(AclBindingFilter(resourceType: .topic)) == [literal, wildcard, prefixed])
    }

    @Test func patternTypesSelectAsKafkaDoes() {
        // ANY: the name compared as it is, whatever the pattern type.
        #expect(selected(AclBindingFilter(resourceType: .topic, name: "orders", patternType: .any)) == [literal])
        #expect(selected(AclBindingFilter(resourceType: .topic, name: "ord", patternType: .any)) == [prefixed])
        // LITERAL / PREFIXED: that pattern type and exactly that name.
        #expect(selected(AclBindingFilter(resourceType: .topic, name: "*", patternType: .literal)) == [wildcard])
        #expect(selected(AclBindingFilter(resourceType: .topic, name: "orders", patternType: .prefixed)) == [])
        // MATCH: every ACL that applies to the resource named.
        #expect(
            selected(AclBindingFilter(resourceType: .topic, name: "orders", patternType: .match))
                == [literal, wildcard, prefixed])
        #expect(selected(AclBindingFilter(resourceType: .topic, name: "payments", patternType: .match)) == [wildcard])
    }

    @Test func entryFieldsFilterToo() {
        #expect(selected(AclBindingFilter(principal: "User:alice")) == [literal, prefixed, group])
        #expect(selected(AclBindingFilter(host: "10.0.0.1")) == [prefixed])
        #expect(selected(AclBindingFilter(operation: .write)) == [wildcard])
        #expect(selected(AclBindingFilter(permission: .deny)) == [wildcard])
    }

    @Test func filtersAndBindingsWithIndefiniteValuesAreRefused() {
        #expect(AclBindingFilter(resourceType: .unknown).problem != nil)
        #expect(AclBindingFilter.any.problem == nil)
        #expect(literal.problem == nil)
        var bad = literal
        bad.pattern.patternType = .match
        #expect(bad.problem == "Invalid patternType MATCH")
        bad = literal
        bad.entry.principal = "alice"
        #expect(bad.problem?.hasPrefix("Could not parse principal") == true)
        bad = literal
        bad.entry.operation = .any
        #expect(bad.problem == "Invalid operation ANY")
    }
}
