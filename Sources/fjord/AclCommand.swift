import ArgumentParser
import FjordClient
import FjordSecurity

/// `fjord acl add | list | remove`: ACLs as Kafka's `kafka-acls.sh --add | --list | --remove` manages them, with its
/// option names: principals, hosts and operations, on topics, groups, transactional ids or the cluster, literal or
/// prefixed.
struct AclCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "Add, list and remove ACLs (the broker needs authorizer.class.name set).",
        subcommands: [AclAdd.self, AclList.self, AclRemove.self]
    )
}

/// The resources an ACL command names, as kafka-acls.sh names them.
struct AclResourceOptions: ParsableArguments {
    @Option(name: .customLong("topic"), help: "A topic (repeatable; * for every topic).") var topics: [String] = []
    @Option(name: .customLong("group"), help: "A consumer group (repeatable).") var groups: [String] = []
    @Option(name: .customLong("transactional-id"), help: "A transactional id (repeatable).")
    var transactionalIDs: [String] = []
    @Flag(name: .customLong("cluster"), help: "The cluster.") var cluster = false
    @Option(
        name: .customLong("resource-pattern-type"),
        help: "literal or prefixed (add); any, match, literal or prefixed (list, remove).")
    var patternType: String?

    /// Every named resource with the pattern type in force (`defaultType` when none was given).
    func patterns(defaultType: AclPatternType) throws -> [ResourcePattern] {
        let type = try Self.patternType(patternType) ?? defaultType
        var patterns = topics.map { ResourcePattern(.topic, $0, type) }
        patterns += groups.map { ResourcePattern(.group, $0, type) }
        patterns += transactionalIDs.map { ResourcePattern(.transactionalID, $0, type) }
        if cluster { patterns.append(ResourcePattern(.cluster, AclResourceType.clusterName, type)) }
        return patterns
    }

    static func patternType(_ text: String?) throws -> AclPatternType? {
        guard let text else { return nil }
        guard let type = AclPatternType.allCases.first(where: { "\($0)" == text.uppercased() }), type != .unknown
        else {
            throw ValidationError("--resource-pattern-type: '\(text)' is not literal, prefixed, match or any")
        }
        return type
    }
}

/// Kafka's operation names, in any case, with or without underscores: `Read`, `DescribeConfigs`, `describe_configs`.
func parseAclOperation(_ text: String) throws -> AclOperation {
    let wanted = text.uppercased().replacingOccurrences(of: "_", with: "")
    guard
        let operation = AclOperation.allCases.first(where: {
            "\($0)".replacingOccurrences(of: "_", with: "") == wanted
        }), operation != .unknown
    else {
        throw ValidationError(
            "--operation: '\(text)' is not one of "
                + AclOperation.allCases.filter { $0 != .unknown && $0 != .any }.map { "\($0)" }.joined(separator: ", "))
    }
    return operation
}

func checkPrincipal(_ text: String) throws {
    guard KafkaPrincipal(parsing: text) != nil else {
        throw ValidationError("'\(text)' is not a principal of the form User:name")
    }
}

struct AclAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add ACLs: every principal × host × operation on every resource named.",
        discussion: """
            Examples:
              fjord acl add --allow-principal User:alice --operation Read --operation Describe --topic orders
              fjord acl add --allow-principal User:alice --operation Read --group billing
              fjord acl add --deny-principal User:mallory --operation All --topic pay- --resource-pattern-type prefixed
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var resources: AclResourceOptions
    @Option(name: .customLong("allow-principal"), help: "A principal the ACLs allow (repeatable).")
    var allowPrincipals: [String] = []
    @Option(name: .customLong("deny-principal"), help: "A principal the ACLs deny (repeatable).")
    var denyPrincipals: [String] = []
    @Option(name: .customLong("allow-host"), help: "A host the allow ACLs apply from (default *).")
    var allowHosts: [String] = []
    @Option(name: .customLong("deny-host"), help: "A host the deny ACLs apply from (default *).")
    var denyHosts: [String] = []
    @Option(name: .customLong("operation"), help: "Read, Write, Create, Delete, Alter, Describe, ... (repeatable).")
    var operations: [String] = []

    func validate() throws {
        guard !allowPrincipals.isEmpty || !denyPrincipals.isEmpty else {
            throw ValidationError("give --allow-principal or --deny-principal")
        }
        for principal in allowPrincipals + denyPrincipals { try checkPrincipal(principal) }
        guard !operations.isEmpty else { throw ValidationError("give at least one --operation") }
        for operation in operations { _ = try parseAclOperation(operation) }
        guard try !resources.patterns(defaultType: .literal).isEmpty else {
            throw ValidationError("name a resource: --topic, --group, --transactional-id or --cluster")
        }
    }

    func run() async throws {
        let patterns = try resources.patterns(defaultType: .literal)
        guard patterns.allSatisfy({ $0.patternType == .literal || $0.patternType == .prefixed }) else {
            throw ValidationError("--resource-pattern-type must be literal or prefixed to add ACLs")
        }
        let operations = try self.operations.map(parseAclOperation)
        var bindings: [AclBinding] = []
        for pattern in patterns {
            for (principals, hosts, permission) in [
                (allowPrincipals, allowHosts, AclPermissionType.allow), (denyPrincipals, denyHosts, .deny),
            ] {
                for principal in principals {
                    for host in hosts.isEmpty ? ["*"] : hosts {
                        for operation in operations {
                            bindings.append(
                                AclBinding(
                                    pattern,
                                    AccessControlEntry(
                                        principal: principal, host: host, operation: operation,
                                        permission: permission)))
                        }
                    }
                }
            }
        }
        let results = try await connection.withAdmin { try await $0.createAcls(bindings) }
        var failed = false
        for (binding, result) in zip(bindings, results) {
            switch result {
            case .success: print("Added \(binding.entry) on \(binding.pattern)")
            case .failure(let error):
                failed = true
                Output.error("cannot add \(binding.entry) on \(binding.pattern): \(CLIError.describe(error))")
            }
        }
        if failed { throw ExitCode.failure }
    }
}

struct AclList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List ACLs, all of them or those of the resources and principal named.",
        discussion: """
            JSON: {"acls":[{"resource_type":"TOPIC","name":"orders","pattern_type":"LITERAL",
            "principal":"User:alice","host":"*","operation":"READ","permission":"ALLOW"}]}

            Examples:
              fjord acl list
              fjord acl list --topic orders --resource-pattern-type match
              fjord acl list --principal User:alice
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var resources: AclResourceOptions
    @Option(name: .customLong("principal"), help: "Only the ACLs of this principal.") var principal: String?

    func run() async throws {
        var filters = try resources.patterns(defaultType: .any).map {
            AclBindingFilter(resourceType: $0.resourceType, name: $0.name, patternType: $0.patternType)
        }
        if filters.isEmpty { filters = [AclBindingFilter.any] }
        let found = try await connection.withAdmin { admin in
            var all: [AclBinding] = []
            for var filter in filters {
                filter.principal = principal
                all += try await admin.describeAcls(filter)
            }
            return all
        }
        let sorted = Array(Set(found)).sorted { "\($0)" < "\($1)" }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "acls",
                        .array(
                            sorted.map {
                                .object([
                                    ("resource_type", .string("\($0.pattern.resourceType)")),
                                    ("name", .string($0.pattern.name)),
                                    ("pattern_type", .string("\($0.pattern.patternType)")),
                                    ("principal", .string($0.entry.principal)), ("host", .string($0.entry.host)),
                                    ("operation", .string("\($0.entry.operation)")),
                                    ("permission", .string("\($0.entry.permission)")),
                                ])
                            })
                    )
                ]))
        case .text:
            Output.table(
                ["RESOURCE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"],
                sorted.map {
                    [
                        "\($0.pattern.resourceType)", $0.pattern.name, "\($0.pattern.patternType)",
                        $0.entry.principal, $0.entry.host, "\($0.entry.operation)", "\($0.entry.permission)",
                    ]
                })
        }
    }
}

struct AclRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove the ACLs of the resources named that match the principals, hosts and operations given.",
        discussion: """
            Examples:
              fjord acl remove --allow-principal User:alice --operation Read --topic orders
              fjord acl remove --topic orders        (every ACL of that topic)
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var resources: AclResourceOptions
    @Option(name: .customLong("allow-principal"), help: "Only allow ACLs of this principal (repeatable).")
    var allowPrincipals: [String] = []
    @Option(name: .customLong("deny-principal"), help: "Only deny ACLs of this principal (repeatable).")
    var denyPrincipals: [String] = []
    @Option(name: .customLong("operation"), help: "Only these operations (repeatable).") var operations: [String] = []

    func validate() throws {
        for principal in allowPrincipals + denyPrincipals { try checkPrincipal(principal) }
        for operation in operations { _ = try parseAclOperation(operation) }
        guard try !resources.patterns(defaultType: .literal).isEmpty else {
            throw ValidationError("name a resource: --topic, --group, --transactional-id or --cluster")
        }
    }

    func run() async throws {
        let operations: [AclOperation] = try self.operations.isEmpty ? [.any] : self.operations.map(parseAclOperation)
        var who: [(String?, AclPermissionType)] =
            allowPrincipals.map { ($0, .allow) } + denyPrincipals.map { ($0, .deny) }
        if who.isEmpty { who = [(nil, .any)] }
        var filters: [AclBindingFilter] = []
        for pattern in try resources.patterns(defaultType: .literal) {
            for (principal, permission) in who {
                for operation in operations {
                    filters.append(
                        AclBindingFilter(
                            resourceType: pattern.resourceType, name: pattern.name, patternType: pattern.patternType,
                            principal: principal, operation: operation, permission: permission))
                }
            }
        }
        let results = try await connection.withAdmin { try await $0.deleteAcls(filters) }
        var failed = false
        for result in results {
            switch result {
            case .success(let removed):
                for binding in removed { print("Removed \(binding.entry) on \(binding.pattern)") }
            case .failure(let error):
                failed = true
                Output.error("cannot remove ACLs: \(CLIError.describe(error))")
            }
        }
        if failed { throw ExitCode.failure }
    }
}
