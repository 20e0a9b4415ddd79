import ArgumentParser
import FjordClient

/// `fjord config`: describe, set and delete configs of topics and brokers (IncrementalAlterConfigs).
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Describe, set and delete configs of a topic or a broker.",
        subcommands: [ConfigDescribe.self, ConfigSet.self, ConfigDelete.self]
    )
}

/// `--topic NAME` or `--broker ID`: exactly one.
struct ConfigTarget: ParsableArguments {
    @Option(name: .long, help: "The topic whose configs to use.") var topic: String?
    @Option(name: .long, help: "The broker (node id) whose configs to use.") var broker: Int32?

    func validate() throws {
        guard (topic == nil) != (broker == nil) else {
            throw ValidationError("give exactly one of --topic NAME or --broker ID")
        }
    }

    var resource: ConfigResource {
        if let topic { return .topic(topic) }
        return .broker(broker ?? -1)
    }

    var label: String {
        if let topic { return "topic '\(topic)'" }
        return "broker \(broker ?? -1)"
    }
}

/// Kafka's config source names (DescribeConfigs `configSource`).
func configSourceName(_ source: Int8) -> String {
    switch source {
    case 1: "DYNAMIC_TOPIC_CONFIG"
    case 2: "DYNAMIC_BROKER_CONFIG"
    case 3: "DYNAMIC_DEFAULT_BROKER_CONFIG"
    case 4: "STATIC_BROKER_CONFIG"
    case 5: "DEFAULT_CONFIG"
    case 6: "DYNAMIC_BROKER_LOGGER_CONFIG"
    default: "UNKNOWN"
    }
}

struct ConfigDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show the configs of a topic or a broker.",
        discussion: """
            Text shows only values set on the resource unless --all; JSON always lists every entry.
            JSON: {"resource":{"type":"topic","name":"orders"},"configs":[{"name":"retention.ms","value":"3600000",
            "source":"DYNAMIC_TOPIC_CONFIG","default":false,"read_only":false,"sensitive":false}]}

            Example:
              fjord config describe --topic orders --all
              fjord config describe --broker 1 --format json
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var target: ConfigTarget
    @Flag(name: .long, help: "Show defaults too.") var all = false

    func run() async throws {
        let resource = target.resource
        let results = try await connection.withAdmin { try await $0.describeConfigs([resource]) }
        let entries: [ConfigEntry]
        switch results[resource] {
        case .success(let found)?: entries = found.sorted { $0.name < $1.name }
        case .failure(let error)?: throw CLIError(CLIError.describe(error, subject: target.label))
        case nil: throw CLIError("\(target.label): no answer from the broker")
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "resource",
                        .object([
                            ("type", .string(target.topic != nil ? "topic" : "broker")),
                            ("name", .string(resource.name)),
                        ])
                    ),
                    (
                        "configs",
                        .array(
                            entries.map { entry in
                                .object([
                                    ("name", .string(entry.name)),
                                    ("value", entry.isSensitive ? .null : .optional(entry.value)),
                                    ("source", .string(configSourceName(entry.source))),
                                    ("default", .bool(entry.isDefault)),
                                    ("read_only", .bool(entry.isReadOnly)),
                                    ("sensitive", .bool(entry.isSensitive)),
                                ])
                            })
                    ),
                ]))
        case .text:
            let shown = all ? entries : entries.filter { !$0.isDefault && $0.source != 5 }
            if shown.isEmpty && !all {
                print("\(target.label) has no configs of its own (defaults apply; --all shows them)")
                return
            }
            Output.table(
                ["NAME", "VALUE", "SOURCE"],
                shown.map {
                    [$0.name, $0.isSensitive ? "(sensitive)" : ($0.value ?? "null"), configSourceName($0.source)]
                }
            )
        }
    }
}

struct ConfigSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set configs of a topic or a broker.",
        discussion: """
            Values are checked by the broker; a bad value fails with the broker's reason and changes nothing.

            Example:
              fjord config set --topic orders retention.ms=3600000 cleanup.policy=compact
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: ConfigTarget
    @Argument(help: ArgumentHelp("Configs to set.", valueName: "key=value")) var pairs: [String]

    func validate() throws {
        guard !pairs.isEmpty else { throw ValidationError("give at least one key=value") }
        _ = try parseKeyValues(pairs, option: "key=value")
    }

    func run() async throws {
        try await ConfigChanges.apply(
            resource: target.resource, sets: try parseKeyValues(pairs, option: "key=value"), deletes: [],
            connection: connection
        )
    }
}

struct ConfigDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Remove configs of a topic or a broker (their defaults apply again).",
        discussion: """
            Example:
              fjord config delete --topic orders retention.ms
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var target: ConfigTarget
    @Argument(help: "Config names to remove.") var keys: [String]

    func validate() throws {
        guard !keys.isEmpty else { throw ValidationError("give at least one config name") }
    }

    func run() async throws {
        try await ConfigChanges.apply(resource: target.resource, sets: [:], deletes: keys, connection: connection)
    }
}

/// One IncrementalAlterConfigs call for `topic alter` and `config set/delete`.
enum ConfigChanges {
    static func apply(
        resource: ConfigResource, sets: [String: String], deletes: [String], connection: ConnectionOptions
    ) async throws {
        var changes = sets.sorted { $0.key < $1.key }.map {
            ConfigAlteration(name: $0.key, operation: .set, value: $0.value)
        }
        changes += deletes.map { ConfigAlteration(name: $0, operation: .delete, value: nil) }
        let label = resource.kind == .topic ? "topic '\(resource.name)'" : "broker \(resource.name)"
        let results = try await connection.withAdmin { try await $0.incrementalAlterConfigs([resource: changes]) }
        switch results[resource] {
        case .success?:
            for (key, value) in sets.sorted(by: { $0.key < $1.key }) { print("\(label): set \(key)=\(value)") }
            for key in deletes { print("\(label): removed \(key)") }
        case .failure(let error)?:
            throw CLIError(
                CLIError.describe(error, subject: label),
                hint:
                    "nothing was changed; see the current values with `fjord config describe \(resource.kind == .topic ? "--topic" : "--broker") \(resource.name) --all`"
            )
        case nil:
            throw CLIError("\(label): no answer from the broker")
        }
    }
}
