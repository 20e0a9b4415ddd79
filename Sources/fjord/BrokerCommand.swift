import ArgumentParser
import FjordBroker
import Foundation
import Logging
import ServiceLifecycle

/// `fjord broker`: runs a node until SIGINT or SIGTERM.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a Fjord broker (single node: broker and controller in one process).",
        discussion: """
            With no options: one node on 127.0.0.1:9092, data in ./fjord-data, node id 1.
            Properties use Kafka's names; --override wins over --config.

            Example:
              fjord broker --config server.properties --override listeners=PLAINTEXT://127.0.0.1:19092
            """
    )

    @Option(name: .long, help: "A Kafka-style server.properties file.")
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Set a property, e.g. log.dirs=/tmp/fjord (repeatable).", valueName: "key=value"))
    var override: [String] = []

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        MemoryAllocatorTuning.applyBrokerDefaults()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "fjord.broker")
        let configuration: BrokerConfiguration
        do {
            configuration = try loadConfiguration()
        } catch {
            throw ValidationError("\(error)")
        }
        let broker = Broker(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [broker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    private func loadConfiguration() throws -> BrokerConfiguration {
        var entries = [(key: String, value: String)]()
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else {
                throw ConfigurationError(key: nil, "cannot read --config file '\(config)'")
            }
            entries += try PropertiesFile.parse(String(decoding: data, as: UTF8.self))
        }
        for pair in override {
            guard let equals = pair.firstIndex(of: "=") else {
                throw ConfigurationError(key: pair, "--override needs key=value")
            }
            entries.append((String(pair[..<equals]), String(pair[pair.index(after: equals)...])))
        }
        return try BrokerConfiguration(properties: entries)
    }
}

// swift-format-ignore: AvoidRetroactiveConformances
// swift-log's level parses as an argument (`--log-level debug`); neither package declares it, so this one does.
extension Logger.Level: @retroactive ExpressibleByArgument {}
