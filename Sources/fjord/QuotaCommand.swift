import ArgumentParser
import FjordClient
import FjordSecurity

/// `fjord quota set | describe | delete`: client quotas per user and/or client id, with defaults, as Kafka's
/// `kafka-configs.sh --entity-type users|clients [--entity-default] --alter --add-config producer_byte_rate=...`.
struct QuotaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Set, show and delete client quotas (byte rates, request percentage, controller mutation rate).",
        subcommands: [QuotaSet.self, QuotaDescribe.self, QuotaDelete.self]
    )
}

/// `--user NAME | --user-default`, `--client-id ID | --client-id-default`.
struct QuotaEntityOptions: ParsableArguments {
    @Option(name: .customLong("user"), help: "The user (principal name).") var user: String?
    @Flag(name: .customLong("user-default"), help: "Every user without a quota of its own.") var userDefault = false
    @Option(name: .customLong("client-id"), help: "The client id.") var clientID: String?
    @Flag(name: .customLong("client-id-default"), help: "Every client id without a quota of its own.")
    var clientIDDefault = false

    var entity: ClientQuotaEntity {
        ClientQuotaEntity(
            user: user.map { .name($0) } ?? (userDefault ? .defaultEntity : nil),
            clientID: clientID.map { .name($0) } ?? (clientIDDefault ? .defaultEntity : nil))
    }

    func validate(required: Bool) throws {
        if user != nil && userDefault { throw ValidationError("--user and --user-default exclude each other") }
        if clientID != nil && clientIDDefault {
            throw ValidationError("--client-id and --client-id-default exclude each other")
        }
        if required, entity.user == nil, entity.clientID == nil {
            throw ValidationError("name the entity: --user, --user-default, --client-id or --client-id-default")
        }
    }
}

func parseQuotaKey(_ text: String) throws -> ClientQuotaKey {
    guard let key = ClientQuotaKey(rawValue: text) else {
        throw ValidationError(
            "'\(text)' is not a quota key (\(ClientQuotaKey.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    return key
}

struct QuotaSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set quota values of a user, a client id, or both (or their defaults).",
        discussion: """
            Examples:
              fjord quota set --client-id batch-loader --config producer_byte_rate=1048576
              fjord quota set --user alice --client-id-default --config consumer_byte_rate=2097152
              fjord quota set --user-default --config request_percentage=200
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var entity: QuotaEntityOptions
    @Option(name: .customLong("config"), help: "key=value (repeatable).") var settings: [String] = []

    func validate() throws {
        try entity.validate(required: true)
        guard !settings.isEmpty else { throw ValidationError("give at least one --config key=value") }
        _ = try changes()
    }

    func changes() throws -> [ClientQuotaKey: Double?] {
        var changes: [ClientQuotaKey: Double?] = [:]
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw ValidationError("--config '\(setting)' is not key=number")
            }
            changes[try parseQuotaKey(parts[0])] = .some(value)
        }
        return changes
    }

    func run() async throws {
        let changes = try self.changes()
        try await connection.withAdmin { try await $0.alterClientQuotas(entity.entity, changes) }
        print("Set \(settings.joined(separator: ", ")) for \(entity.entity)")
    }
}

struct QuotaDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Remove quota keys of an entity.",
        discussion: "Example:\n  fjord quota delete --client-id batch-loader --key producer_byte_rate"
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var entity: QuotaEntityOptions
    @Option(name: .customLong("key"), help: "A quota key to remove (repeatable).") var keys: [String] = []

    func validate() throws {
        try entity.validate(required: true)
        guard !keys.isEmpty else { throw ValidationError("give at least one --key") }
        for key in keys { _ = try parseQuotaKey(key) }
    }

    func run() async throws {
        var changes: [ClientQuotaKey: Double?] = [:]
        for key in keys { changes[try parseQuotaKey(key)] = .some(nil) }
        try await connection.withAdmin { try await $0.alterClientQuotas(entity.entity, changes) }
        print("Removed \(keys.joined(separator: ", ")) from \(entity.entity)")
    }
}

struct QuotaDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show client quotas: all, or those of the user or client id named.",
        discussion: """
            JSON: {"quotas":[{"entity":"client-id=batch-loader","user":null,"client_id":"batch-loader",
            "values":{"producer_byte_rate":1048576}}]}
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var entity: QuotaEntityOptions

    func validate() throws { try entity.validate(required: false) }

    func run() async throws {
        let wanted = entity.entity
        let quotas = try await connection.withAdmin {
            try await $0.describeClientQuotas(user: wanted.user, clientID: wanted.clientID)
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "quotas",
                        .array(
                            quotas.map { quota in
                                .object([
                                    ("entity", .string(quota.entity.description)),
                                    ("user", quota.entity.user.map { .string("\($0)") } ?? .null),
                                    ("client_id", quota.entity.clientID.map { .string("\($0)") } ?? .null),
                                    (
                                        "values",
                                        .object(quota.values.keys.sorted().map { ($0, .double(quota.values[$0]!)) })
                                    ),
                                ])
                            })
                    )
                ]))
        case .text:
            Output.table(
                ["ENTITY", "KEY", "VALUE"],
                quotas.flatMap { quota in
                    quota.values.keys.sorted().map { [quota.entity.description, $0, "\(quota.values[$0]!)"] }
                })
        }
    }
}
