import ArgumentParser
import FjordBroker
import FjordStorage
import Foundation
import KafkaProtocol

/// `fjord storage`: prepares and inspects a KRaft node's directories, as Kafka's `kafka-storage.sh`.
struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Format and inspect the storage directories of a KRaft node (as kafka-storage.sh).",
        discussion: """
            A node with process.roles set starts only from formatted directories. Without process.roles, Fjord runs
            one combined node and needs no format step.

            Example:
              fjord storage format --cluster-id $(fjord storage random-uuid) --config server.properties --standalone
            """,
        subcommands: [StorageRandomUUIDCommand.self, StorageFormatCommand.self, StorageInfoCommand.self]
    )

    /// Reads a `server.properties` file into a checked configuration; a bad file is a usage error naming the key.
    static func loadConfiguration(_ path: String) throws -> BrokerConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read --config file '\(path)'")
        }
        do {
            return try BrokerConfiguration(properties: try PropertiesFile.parse(String(decoding: data, as: UTF8.self)))
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}

/// `fjord storage random-uuid`: a new cluster id, as `kafka-storage.sh random-uuid` prints it.
struct StorageRandomUUIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-uuid", abstract: "Print a random UUID (22 characters of URL-safe base64).")

    func run() {
        print(KafkaUUID.randomIdentifier().base64URLEncoded)
    }
}

/// `fjord storage format`: see `StorageFormatter`.
struct StorageFormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "format",
        abstract: "Format the log directories and the metadata directory of this node.",
        discussion: """
            A controller with controller.quorum.voters needs no quorum option; without it, give exactly one of
            --standalone, --initial-controllers or --no-initial-controllers (as kafka-storage.sh).

            Example:
              fjord storage format -t $(fjord storage random-uuid) -c server.properties --standalone
              fjord storage format -t Q2mB3TtFRWKl0c5vd1yWFA -c c1.properties \\
                --initial-controllers 1@host1:9093:JEXY6aqzQY-32P5TStzaFg,2@host2:9093:MvDxzVmcRsaTz33bUuRU6A
            """
    )

    @Option(name: [.customLong("cluster-id"), .customShort("t")], help: "The cluster id (fjord storage random-uuid).")
    var clusterID: String

    @Option(name: [.long, .customShort("c")], help: "The node's server.properties.")
    var config: String

    @Flag(name: [.long, .customShort("s")], help: "Initialize a controller as a single-node dynamic quorum.")
    var standalone = false

    @Option(
        name: [.long, .customShort("I")],
        help: ArgumentHelp(
            "The initial dynamic quorum; the same list formats every controller.",
            valueName: "id@host:port:directoryID,..."))
    var initialControllers: String?

    @Flag(name: [.long, .customShort("N")], help: "Format a controller that will join an existing dynamic quorum.")
    var noInitialControllers = false

    @Flag(name: [.long, .customShort("g")], help: "Skip directories already formatted instead of failing.")
    var ignoreFormatted = false

    @Option(
        name: [.long, .customShort("r")],
        help: "The metadata.version to start at (3.3-IV3 ... 4.0-IV3; default 4.0-IV3), e.g. 3.9 or 4.0-IV3.")
    var releaseVersion: String?

    @Option(
        name: [.long, .customShort("S")],
        help: ArgumentHelp(
            "A SCRAM credential for the new cluster (repeatable), e.g. 'SCRAM-SHA-256=[name=alice,password=secret]'.",
            valueName: "MECHANISM=[name=...,password=...]"))
    var addScram: [String] = []

    func validate() throws {
        let chosen = [standalone, initialControllers != nil, noInitialControllers].filter { $0 }.count
        guard chosen <= 1 else {
            throw ValidationError("--standalone, --initial-controllers and --no-initial-controllers exclude each other")
        }
    }

    func run() throws {
        var formatter = StorageFormatter(
            configuration: try StorageCommand.loadConfiguration(config), clusterID: clusterID)
        formatter.ignoreFormatted = ignoreFormatted
        formatter.releaseVersion = releaseVersion
        formatter.scramCredentials = try addScram.map { try StorageScramArgument(parsing: $0) }
        if standalone {
            formatter.quorumSetup = .standalone
        } else if let initialControllers {
            formatter.quorumSetup = .initialControllers(try StorageInitialControllers(parsing: initialControllers))
        } else if noInitialControllers {
            formatter.quorumSetup = .noInitialControllers
        }
        try formatter.run { print($0) }
    }
}

/// `fjord storage info`: what the node's directories hold (see `StorageInfo`).
struct StorageInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the meta.properties of this node's directories and any problem.")

    @Option(name: [.long, .customShort("c")], help: "The node's server.properties.")
    var config: String

    func run() throws {
        let configuration = try StorageCommand.loadConfiguration(config)
        let report = StorageInfo.report(configuration: configuration)
        print(report.output, terminator: "")
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
