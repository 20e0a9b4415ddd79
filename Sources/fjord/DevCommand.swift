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

/// `fjord dev cluster`: formats and starts a local KRaft cluster of combined nodes (see `DevCluster`).
struct DevClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Format and start a local cluster of combined KRaft nodes; Ctrl-C stops them all.",
        discussion: """
            Each node is `fjord broker` in its own process (process.roles=broker,controller, a voter of the metadata
            quorum) on free 127.0.0.1 ports: a broker listener, a controller listener and /metrics. Data, configs and
            logs live under --dir; running again on the same folder reuses the data (same cluster id, no format) with
            new ports. The command prints the bootstrap list once the quorum has a leader and every node serves.
            Ctrl-C or SIGTERM stops every node (SIGTERM, then SIGKILL after --stop-timeout).

            Example:
              fjord dev cluster --nodes 3
              fjord topic create orders --partitions 3 --bootstrap <the printed list>
            """
    )

    @Option(name: .long, help: "Combined nodes (broker and controller in one process), 1 to 9.")
    var nodes: Int?

    @Option(name: .long, help: "Controller-only nodes (needs --brokers; not supported yet, see below).")
    var controllers: Int?

    @Option(name: .long, help: "Broker-only nodes (needs --controllers; not supported yet).")
    var brokers: Int?

    @Option(name: .long, help: "The folder for the nodes' data, configs and logs.")
    var dir: String = "./fjord-cluster"

    @Option(name: .long, help: ArgumentHelp("How long the nodes may take to elect and serve.", valueName: "seconds"))
    var startTimeout: Int = 120

    @Option(
        name: .long, help: ArgumentHelp("How long a node may take to stop before SIGKILL.", valueName: "seconds"))
    var stopTimeout: Int = 30

    func validate() throws {
        if controllers != nil || brokers != nil {
            guard nodes == nil else { throw ValidationError("--nodes excludes --controllers and --brokers") }
            // Kafka's separate roles need what Fjord's nodes refuse today (KRaftStartupCheck.checkQuorum): say so
            // before anything is written.
            throw ValidationError(
                "--controllers/--brokers (separate roles) is not supported yet: a node with process.roles=broker or "
                    + "process.roles=controller alone is refused at start-up, because brokers do not register with "
                    + "the active controller nor follow the metadata log as observers yet; run combined nodes with "
                    + "--nodes N")
        }
        guard (1...9).contains(nodes ?? 3) else { throw ValidationError("--nodes must be between 1 and 9") }
        guard startTimeout > 0, stopTimeout > 0 else {
            throw ValidationError("--start-timeout and --stop-timeout must be positive")
        }
    }

    func run() async throws {
        let path = dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir
        let cluster = try DevCluster(
            directory: URL(fileURLWithPath: path).standardizedFileURL.path, nodeCount: nodes ?? 3,
            startTimeout: .seconds(startTimeout), stopTimeout: .seconds(stopTimeout))
        let code = try await cluster.run()
        if code != 0 { throw ExitCode(code) }
    }
}
