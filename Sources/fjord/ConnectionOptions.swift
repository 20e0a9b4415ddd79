import ArgumentParser
import FjordClient
import Foundation
import Logging

/// `--bootstrap` (and `--command-config` for a SASL listener), shared by every command that talks to a cluster.
///
/// The default comes from the environment variable `FJORD_BOOTSTRAP`, then `127.0.0.1:9092`.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Brokers to bootstrap from, comma-separated (default: $FJORD_BOOTSTRAP, else 127.0.0.1:9092).",
            valueName: "host:port"
        )
    )
    var bootstrap: String?

    @Option(name: .long, help: ArgumentHelp("How long one request may take, in seconds.", valueName: "seconds"))
    var requestTimeout: Int = 30

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Client properties for a secured listener (security.protocol, sasl.mechanism, sasl.jaas.config).",
            valueName: "file"))
    var commandConfig: String?

    /// The bootstrap list in effect: the option, the environment, or the default.
    var bootstrapText: String {
        if let bootstrap, !bootstrap.isEmpty { return bootstrap }
        if let env = ProcessInfo.processInfo.environment["FJORD_BOOTSTRAP"], !env.isEmpty { return env }
        return "127.0.0.1:9092"
    }

    func validate() throws {
        _ = try addresses()
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
    }

    func addresses() throws -> [BrokerAddress] {
        let parts = bootstrapText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var addresses: [BrokerAddress] = []
        for part in parts where !part.isEmpty {
            guard let address = BrokerAddress(part) else {
                throw ValidationError("--bootstrap: '\(part)' is not host:port (for example 127.0.0.1:9092)")
            }
            addresses.append(address)
        }
        guard !addresses.isEmpty else { throw ValidationError("--bootstrap is empty; give host:port") }
        return addresses
    }

    /// A client configuration for the command line: no topic auto-creation, quiet logging, a short reconnect cap.
    func clientConfiguration(clientID: String = "fjord-cli") throws -> ClientConfiguration {
        var configuration = ClientConfiguration(bootstrapServers: try addresses())
        configuration.clientID = clientID
        configuration.allowAutoTopicCreation = false
        configuration.requestTimeout = .seconds(requestTimeout)
        configuration.connectTimeout = .seconds(min(requestTimeout, 10))
        configuration.logger = CLILogging.clientLogger
        if let commandConfig {
            let security = try CommandConfig(path: commandConfig)
            configuration.sasl = security.sasl
            configuration.tls = security.tls
        }
        return configuration
    }

    /// Runs `body` with an `Admin` on a fresh client and closes the client afterwards, turning client errors into
    /// messages that name the bootstrap servers.
    func withAdmin<T>(_ body: (Admin) async throws -> T) async throws -> T {
        let client = KafkaClient(configuration: try clientConfiguration())
        let admin = Admin(client: client)
        do {
            let value = try await body(admin)
            await client.close()
            return value
        } catch {
            await client.close()
            throw CLIError.wrap(error, bootstrap: bootstrapText)
        }
    }
}

/// `--format text|json`, on every command that reads.
struct FormatOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: text (for people) or json (stable, for scripts).")
    var format: OutputFormat = .text
}

/// How a read command prints.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text
    case json
}
