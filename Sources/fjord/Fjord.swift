import ArgumentParser
import Glibc

/// `fjord`: the broker and the command-line tools in one binary.
///
/// Exit status: 0 success, 1 the command failed (it says what and what to try), 2 usage error (bad or missing
/// arguments). Shell completion: `fjord --generate-completion-script bash|zsh|fish`.
@main
struct Fjord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fjord",
        abstract: "Fjord: a Kafka-compatible broker in Swift, and the tools to operate it.",
        discussion: """
            Every client command reads --bootstrap (default: $FJORD_BOOTSTRAP, else 127.0.0.1:9092); read commands
            take --format text|json. Exit status: 0 ok, 1 failure, 2 usage error.
            Shell completion: fjord --generate-completion-script bash > /etc/bash_completion.d/fjord

            Example:
              fjord topic create orders --partitions 3
              printf 'k1:hello\\n' | fjord produce orders --key-separator :
              fjord consume orders --group billing --count 1
              fjord group describe billing
            """,
        subcommands: [
            BrokerCommand.self, TopicCommand.self, ProduceCommand.self, ConsumeCommand.self, GroupCommand.self,
            ConfigCommand.self, ClusterCommand.self, TransactionCommand.self, PerfCommand.self, LogCommand.self,
            StorageCommand.self, DevCommand.self, MetadataQuorumCommand.self, MetadataCommand.self,
            FeaturesCommand.self, PartitionCommand.self, AclCommand.self, UserCommand.self, QuotaCommand.self,
        ]
    )

    /// Parses and runs, mapping ArgumentParser's usage failures (64) to exit status 2 and other errors to 1.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Output.error(fullMessage(for: error))
                terminate(2)
            }
            if let error = error as? CLIError {
                Output.error("error: \(error)")
                terminate(1)
            }
            exit(withError: error)
        }
    }
}
