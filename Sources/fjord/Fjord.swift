import ArgumentParser

/// `fjord`: the broker and the command-line tools in one binary.
@main
struct Fjord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fjord",
        abstract: "Fjord: a Kafka-compatible broker in Swift.",
        subcommands: [BrokerCommand.self, LogCommand.self]
    )
}
