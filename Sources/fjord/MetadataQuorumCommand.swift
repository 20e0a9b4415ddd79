import ArgumentParser
import FjordClient
import Foundation

/// `fjord metadata-quorum`: the KRaft metadata quorum, as Kafka's `kafka-metadata-quorum.sh`.
struct MetadataQuorumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata-quorum",
        abstract: "Describe the KRaft metadata quorum (as kafka-metadata-quorum.sh).",
        subcommands: [MetadataQuorumDescribe.self]
    )
}

/// `fjord metadata-quorum describe --status | --replication`.
struct MetadataQuorumDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show the quorum's leader, epoch and high watermark, or each replica's progress.",
        discussion: """
            --status prints ClusterId, LeaderId, LeaderEpoch, HighWatermark, MaxFollowerLag, MaxFollowerLagTimeMs,
            CurrentVoters and CurrentObservers; --replication a row per voter and observer: NodeId, DirectoryId,
            LogEndOffset, Lag, LastFetchTimestamp, LastCaughtUpTimestamp, Status (Leader, Follower, Observer), as
            kafka-metadata-quorum.sh prints them. --bootstrap-controller talks to controller listeners; with
            --bootstrap-server (default $FJORD_BOOTSTRAP, else 127.0.0.1:9092) a broker that is not the quorum's leader
            answers with the leader, and the command asks the leader. The cluster id is read with DescribeCluster
            (on a controller listener: endpoint type 2, from metadata.version 3.7-IV0; "unknown" before).
            JSON (--status): {"cluster_id","leader_id","leader_epoch","high_watermark","max_follower_lag",
            "max_follower_lag_time_ms","voters":[{"id","directory_id","endpoints"}],"observers":[..]}
            JSON (--replication): {"replicas":[{"node_id","directory_id","log_end_offset","lag",
            "last_fetch_timestamp","last_caught_up_timestamp","status"}]}

            Example:
              fjord metadata-quorum describe --status --bootstrap-controller 127.0.0.1:9093
              fjord metadata-quorum describe --replication --human-readable --bootstrap-server 127.0.0.1:9092
            """
    )

    @Option(
        name: [.customLong("bootstrap-server"), .customLong("bootstrap")],
        help: ArgumentHelp(
            "Brokers, comma-separated (default: $FJORD_BOOTSTRAP, else 127.0.0.1:9092).",
            valueName: "host:port"))
    var bootstrapServer: String?

    @Option(
        name: .customLong("bootstrap-controller"),
        help: ArgumentHelp("Controller listeners, comma-separated.", valueName: "host:port"))
    var bootstrapController: String?

    @Flag(name: .long, help: "A short summary of the quorum.")
    var status = false

    @Flag(name: .long, help: "Each voter's and observer's log end offset, lag and fetch times.")
    var replication = false

    @Flag(name: .long, help: "With --replication: timestamps as \"N ms ago\".")
    var humanReadable = false

    @Option(name: .long, help: ArgumentHelp("How long one request may take, in seconds.", valueName: "seconds"))
    var requestTimeout: Int = 30

    @OptionGroup var output: FormatOptions

    func validate() throws {
        guard !(status && replication) else {
            throw ValidationError("Only one of --status or --replication should be specified with describe")
        }
        guard status || replication else {
            throw ValidationError("One of --status or --replication must be specified with describe")
        }
        guard !humanReadable || replication else {
            throw ValidationError("The option --human-readable is only supported along with --replication")
        }
        guard bootstrapServer == nil || bootstrapController == nil else {
            throw ValidationError("--bootstrap-server and --bootstrap-controller exclude each other")
        }
        _ = try Self.addresses(bootstrapController ?? serverText, option: optionName)
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
    }

    private var serverText: String {
        if let bootstrapServer, !bootstrapServer.isEmpty { return bootstrapServer }
        if let env = ProcessInfo.processInfo.environment["FJORD_BOOTSTRAP"], !env.isEmpty { return env }
        return "127.0.0.1:9092"
    }

    private var optionName: String { bootstrapController != nil ? "--bootstrap-controller" : "--bootstrap-server" }

    static func addresses(_ text: String, option: String) throws -> [BrokerAddress] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw ValidationError("\(option) is empty; give host:port") }
        return try parts.map { part in
            guard let address = BrokerAddress(part) else {
                throw ValidationError("\(option): '\(part)' is not host:port (for example 127.0.0.1:9093)")
            }
            return address
        }
    }

    func run() async throws {
        let text = bootstrapController ?? serverText
        let addresses = try Self.addresses(text, option: optionName)
        var configuration = ClientConfiguration(bootstrapServers: addresses)
        configuration.clientID = "fjord-cli"
        configuration.allowAutoTopicCreation = false
        configuration.requestTimeout = .seconds(requestTimeout)
        configuration.connectTimeout = .seconds(min(requestTimeout, 10))
        configuration.logger = CLILogging.clientLogger
        let client = KafkaClient(configuration: configuration)
        let admin = Admin(client: client)
        let quorum: MetadataQuorumDescription
        var clusterID: String?
        do {
            if bootstrapController != nil {
                quorum = try await admin.describeMetadataQuorum(controllers: addresses)
                // DescribeCluster on a controller listener (KIP-919); a cluster whose metadata.version predates
                // controller registration cannot answer it.
                if status { clusterID = try? await admin.describeControllers(at: addresses).clusterID }
            } else {
                quorum = try await admin.describeMetadataQuorum()
                if status { clusterID = try await admin.describeCluster().clusterID }
            }
            await client.close()
        } catch {
            await client.close()
            throw CLIError.wrap(error, bootstrap: text)
        }
        switch (output.format, status) {
        case (.json, true): Output.json(MetadataQuorumFormatter.statusJSON(quorum, clusterID: clusterID))
        case (.json, false): Output.json(MetadataQuorumFormatter.replicationJSON(quorum))
        case (.text, true): print(MetadataQuorumFormatter.status(quorum, clusterID: clusterID))
        case (.text, false):
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            print(MetadataQuorumFormatter.replication(quorum, humanReadable: humanReadable, nowMs: now))
        }
    }
}
