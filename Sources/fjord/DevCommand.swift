import ArgumentParser
import Foundation

/// `fjord dev`: tools for running Fjord locally.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run Fjord locally for development.",
        subcommands: [DevClusterCommand.self]
    )
}

/// `fjord dev cluster`: formats and starts a local KRaft cluster (see `DevCluster`): combined nodes, or
/// controller-only and broker-only nodes.
struct DevClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Format and start a local KRaft cluster; Ctrl-C stops every node.",
        discussion: """
            Each node is `fjord broker` in its own process on free 127.0.0.1 ports, with /metrics. Two layouts, as
            Kafka deploys KRaft:
              --nodes N                       N combined nodes (process.roles=broker,controller): each a voter of
                                              the metadata quorum and a broker (default: 3).
              --controllers C --brokers B     C controller-only nodes (ids 1..C, process.roles=controller): the
                                              voters, serving only their controller listener; and B broker-only
                                              nodes (ids C+1..C+B, process.roles=broker): observers of the quorum
                                              that register with the active controller and serve clients.
            Data, configs and logs live under --dir; running again on the same folder reuses the data (same cluster
            id and layout, no format) with new ports. The command prints the bootstrap list (the brokers' listeners)
            once the quorum has a leader and every broker serves. Ctrl-C or SIGTERM stops every node (SIGTERM, then
            SIGKILL after --stop-timeout).

            Examples:
              fjord dev cluster --nodes 3
              fjord dev cluster --controllers 3 --brokers 2
              fjord topic create orders --partitions 3 --bootstrap <the printed list>
            """
    )

    @Option(name: .long, help: "Combined nodes (broker and controller in one process), 1 to 9.")
    var nodes: Int?

    @Option(name: .long, help: "Controller-only nodes, the voters of the metadata quorum, 1 to 9 (with --brokers).")
    var controllers: Int?

    @Option(name: .long, help: "Broker-only nodes, which serve clients, 1 to 9 (with --controllers).")
    var brokers: Int?

    @Option(name: .long, help: "The folder for the nodes' data, configs and logs.")
    var dir: String = "./fjord-cluster"

    @Option(name: .long, help: ArgumentHelp("How long the nodes may take to elect and serve.", valueName: "seconds"))
    var startTimeout: Int = 120

    @Option(
        name: .long, help: ArgumentHelp("How long a node may take to stop before SIGKILL.", valueName: "seconds"))
    var stopTimeout: Int = 30

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A broker property for every node (repeatable), passed to each `fjord broker` as --override.",
            valueName: "key=value"))
    var override: [String] = []

    func validate() throws {
        if controllers != nil || brokers != nil {
            guard nodes == nil else { throw ValidationError("--nodes excludes --controllers and --brokers") }
            guard let controllers, let brokers else {
                throw ValidationError("--controllers and --brokers go together (separate roles need both)")
            }
            guard (1...9).contains(controllers), (1...9).contains(brokers) else {
                throw ValidationError("--controllers and --brokers must each be between 1 and 9")
            }
        }
        guard (1...9).contains(nodes ?? 3) else { throw ValidationError("--nodes must be between 1 and 9") }
        guard startTimeout > 0, stopTimeout > 0 else {
            throw ValidationError("--start-timeout and --stop-timeout must be positive")
        }
        for pair in override {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--override needs key=value, got \"\(pair)\"")
            }
        }
    }

    /// The layout asked for: separate roles when --controllers and --brokers are given, else combined nodes.
    var shape: DevClusterLayout.Shape {
        if let controllers, let brokers { return .separate(controllers: controllers, brokers: brokers) }
        return .combined(nodes: nodes ?? 3)
    }

    func run() async throws {
        let path = dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir
        let cluster = try DevCluster(
            directory: URL(fileURLWithPath: path).standardizedFileURL.path, shape: shape,
            startTimeout: .seconds(startTimeout), stopTimeout: .seconds(stopTimeout), overrides: override)
        let code = try await cluster.run()
        if code != 0 { throw ExitCode(code) }
    }
}
