import ArgumentParser
import FjordClient
import Foundation

/// `fjord features`: finalized features and metadata.version, as Kafka's `kafka-features.sh`.
struct FeaturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Describe and change finalized features (as kafka-features.sh).",
        subcommands: [FeaturesDescribe.self, FeaturesUpgrade.self, FeaturesDowngrade.self, FeaturesDisable.self]
    )
}

/// Where feature requests go: brokers (`--bootstrap-server`, which forward changes to the active controller) or
/// controller listeners directly (`--bootstrap-controller`).
struct FeaturesConnectionOptions: ParsableArguments {
    @Option(
        name: [.customLong("bootstrap-server"), .customLong("bootstrap")],
        help: ArgumentHelp(
            "Brokers, comma-separated (default: $FJORD_BOOTSTRAP, else 127.0.0.1:9092).", valueName: "host:port"))
    var bootstrapServer: String?

    @Option(
        name: .customLong("bootstrap-controller"),
        help: ArgumentHelp("Controller listeners, comma-separated.", valueName: "host:port"))
    var bootstrapController: String?

    @Option(name: .long, help: ArgumentHelp("How long one request may take, in seconds.", valueName: "seconds"))
    var requestTimeout: Int = 30

    func validate() throws {
        guard bootstrapServer == nil || bootstrapController == nil else {
            throw ValidationError("--bootstrap-server and --bootstrap-controller exclude each other")
        }
        _ = try addresses()
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
    }

    private var optionName: String { bootstrapController != nil ? "--bootstrap-controller" : "--bootstrap-server" }

    var bootstrapText: String {
        if let bootstrapController { return bootstrapController }
        if let bootstrapServer, !bootstrapServer.isEmpty { return bootstrapServer }
        if let env = ProcessInfo.processInfo.environment["FJORD_BOOTSTRAP"], !env.isEmpty { return env }
        return "127.0.0.1:9092"
    }

    func addresses() throws -> [BrokerAddress] {
        try MetadataQuorumDescribe.addresses(bootstrapText, option: optionName)
    }

    /// Runs `body` with an `Admin` and the controller addresses (nil: through brokers), closing the client after.
    func withAdmin<T>(_ body: (Admin, [BrokerAddress]?) async throws -> T) async throws -> T {
        let addresses = try addresses()
        var configuration = ClientConfiguration(bootstrapServers: addresses)
        configuration.clientID = "fjord-cli"
        configuration.allowAutoTopicCreation = false
        configuration.requestTimeout = .seconds(requestTimeout)
        configuration.connectTimeout = .seconds(min(requestTimeout, 10))
        configuration.logger = CLILogging.clientLogger
        let client = KafkaClient(configuration: configuration)
        do {
            let value = try await body(Admin(client: client), bootstrapController == nil ? nil : addresses)
            await client.close()
            return value
        } catch {
            await client.close()
            throw CLIError.wrap(error, bootstrap: bootstrapText)
        }
    }
}

/// `fjord features describe`.
struct FeaturesDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show each supported feature's range, its finalized level and the epoch of the finalized levels.",
        discussion: """
            A line per feature the answering node supports, as kafka-features.sh prints it (metadata.version levels by
            name): Feature: metadata.version  SupportedMinVersion: 3.3-IV3  SupportedMaxVersion: 4.0-IV3
            FinalizedVersionLevel: 4.0-IV3  Epoch: 42
            JSON: {"features":[{"name","supported_min","supported_max","finalized_level","finalized"}],"epoch"}

            Example:
              fjord features describe --bootstrap-server 127.0.0.1:9092
              fjord features describe --bootstrap-controller 127.0.0.1:9093
            """
    )

    @OptionGroup var connection: FeaturesConnectionOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        let metadata = try await connection.withAdmin { admin, controllers in
            if let controllers { return try await admin.describeFeatures(controllers: controllers) }
            return try await admin.describeFeatures()
        }
        let names = metadata.supportedFeatures.keys.sorted()
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "features",
                        .array(
                            names.map { name in
                                let range = metadata.supportedFeatures[name]!
                                let level = metadata.finalizedFeatures[name] ?? 0
                                return .object([
                                    ("name", .string(name)), ("supported_min", .int(range.lowerBound)),
                                    ("supported_max", .int(range.upperBound)), ("finalized_level", .int(level)),
                                    ("finalized", .string(FeatureLevelText.text(name, level))),
                                ])
                            })
                    ),
                    ("epoch", .optional(metadata.finalizedFeaturesEpoch)),
                ]))
        case .text:
            for name in names {
                let range = metadata.supportedFeatures[name]!
                let level = metadata.finalizedFeatures[name] ?? 0
                print(
                    "Feature: \(name)\tSupportedMinVersion: \(FeatureLevelText.text(name, range.lowerBound))\t"
                        + "SupportedMaxVersion: \(FeatureLevelText.text(name, range.upperBound))\t"
                        + "FinalizedVersionLevel: \(FeatureLevelText.text(name, level))\t"
                        + "Epoch: \(metadata.finalizedFeaturesEpoch.map(String.init) ?? "-")")
            }
        }
    }
}

/// `fjord features upgrade`.
struct FeaturesUpgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Raise metadata.version or other features.",
        discussion: """
            --metadata takes a metadata.version name (4.0-IV3) or a release (3.9: its latest version); --feature
            name=level may repeat. All changes are applied together or none is. --dry-run only validates.

            Example:
              fjord features upgrade --metadata 4.0-IV3
              fjord features upgrade --feature metadata.version=25 --dry-run
            """
    )

    @OptionGroup var connection: FeaturesConnectionOptions
    @OptionGroup var updates: FeatureUpdateOptions

    func validate() throws { _ = try updates.levels(operation: "upgrade") }

    func run() async throws {
        try await updates.apply(operation: "upgrade", type: .upgrade, connection: connection)
    }
}

/// `fjord features downgrade`.
struct FeaturesDowngrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downgrade",
        abstract: "Lower metadata.version or other features.",
        discussion: """
            A safe downgrade (the default) is refused when it could lose metadata (a metadata.version between the two
            changed the metadata format); --unsafe asks for a lossy one, which Kafka 4 refuses for metadata.version.

            Example:
              fjord features downgrade --metadata 3.9-IV0 --dry-run
            """
    )

    @OptionGroup var connection: FeaturesConnectionOptions
    @OptionGroup var updates: FeatureUpdateOptions

    @Flag(name: .long, help: "Allow a downgrade that may lose metadata.")
    var unsafe = false

    func validate() throws { _ = try updates.levels(operation: "downgrade") }

    func run() async throws {
        try await updates.apply(
            operation: "downgrade", type: unsafe ? .unsafeDowngrade : .safeDowngrade, connection: connection)
    }
}

/// `fjord features disable`.
struct FeaturesDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Turn features off (level 0).",
        discussion: """
            Example:
              fjord features disable --feature transaction.version
            """
    )

    @OptionGroup var connection: FeaturesConnectionOptions

    @Option(name: .long, help: ArgumentHelp("A feature to disable (repeatable).", valueName: "name"))
    var feature: [String] = []

    @Flag(name: .long, help: "Only validate; change nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Allow a downgrade that may lose metadata.")
    var unsafe = false

    func validate() throws {
        guard !feature.isEmpty else { throw ValidationError("You must specify at least one feature to disable") }
    }

    func run() async throws {
        var levels = [String: Int16]()
        for name in feature { levels[name] = 0 }
        try await FeatureUpdateOptions.apply(
            levels, operation: "disable", type: unsafe ? .unsafeDowngrade : .safeDowngrade, dryRun: dryRun,
            connection: connection)
    }
}

/// `--metadata`, `--feature name=level` and `--dry-run` of upgrade and downgrade.
struct FeatureUpdateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The metadata.version: 4.0-IV3, or a release (3.9).", valueName: "version"))
    var metadata: String?

    @Option(name: .long, help: ArgumentHelp("A feature and its level (repeatable).", valueName: "name=level"))
    var feature: [String] = []

    @Flag(name: .long, help: "Only validate; change nothing.")
    var dryRun = false

    /// The requested levels by feature name; a usage error for a bad or repeated one.
    func levels(operation: String) throws -> [String: Int16] {
        var levels = [String: Int16]()
        if let metadata {
            guard let version = StorageReleaseVersion(parsing: metadata) else {
                throw ValidationError(
                    "Unknown metadata.version \(metadata). Supported metadata.version are "
                        + "\(StorageReleaseVersion.all.first!)-\(StorageReleaseVersion.latestProduction)")
            }
            levels[FeatureLevelText.metadataVersion] = version.featureLevel
        }
        for entry in feature {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let level = Int16(parts[1]) else {
                throw ValidationError("Can't parse feature=level string \(entry): expected name=level, level an int16")
            }
            guard levels.updateValue(level, forKey: parts[0]) == nil else {
                throw ValidationError("Feature \(parts[0]) was specified more than once.")
            }
        }
        guard !levels.isEmpty else { throw ValidationError("You must specify at least one feature to \(operation)") }
        return levels
    }

    func apply(operation: String, type: FeatureUpdate.UpgradeType, connection: FeaturesConnectionOptions)
        async throws
    {
        try await Self.apply(
            try levels(operation: operation), operation: operation, type: type, dryRun: dryRun, connection: connection)
    }

    /// Sends the updates and prints a line per feature as kafka-features.sh does; fails (exit 1) if any failed.
    static func apply(
        _ levels: [String: Int16], operation: String, type: FeatureUpdate.UpgradeType, dryRun: Bool,
        connection: FeaturesConnectionOptions
    ) async throws {
        let updates = levels.mapValues { FeatureUpdate(maxVersionLevel: $0, upgradeType: type) }
        let results = try await connection.withAdmin { admin, controllers in
            if let controllers {
                return try await admin.updateFeatures(updates, validateOnly: dryRun, controllers: controllers)
            }
            return try await admin.updateFeatures(updates, validateOnly: dryRun)
        }
        var failures = 0
        for name in levels.keys.sorted() {
            let level = levels[name]!
            let what = operation == "disable" ? "disable \(name)" : "\(operation) \(name) to \(level)"
            switch results[name] ?? .success(()) {
            case .success:
                let done = operation == "disable" ? "disabled." : "\(operation)d to \(level)."
                print("\(name)\(dryRun ? " can be " : " was ")\(done)")
            case .failure(let error):
                print("\(dryRun ? "Can not" : "Could not") \(what). \(error.message)")
                failures += 1
            }
        }
        Output.flush()
        if failures > 0 { throw CLIError("\(failures) out of \(levels.count) operation(s) failed.") }
    }
}

/// How kafka-features.sh writes a level: metadata.version by its name, other features as numbers.
enum FeatureLevelText {
    static let metadataVersion = "metadata.version"

    static func text(_ feature: String, _ level: Int16) -> String {
        guard feature == metadataVersion else { return "\(level)" }
        return StorageReleaseVersion.all.first { $0.featureLevel == level }?.name ?? "\(level)"
    }
}
