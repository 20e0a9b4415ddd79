import ArgumentParser
import FjordClient

/// `fjord cluster describe`: the cluster id, the controller, the brokers and, in KRaft mode, the controllers (the
/// metadata quorum's voters); `fjord cluster drain`: every replica moved off a broker.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Show the cluster, or drain a broker of its replicas.",
        subcommands: [ClusterDescribe.self, ClusterDrain.self]
    )
}

struct ClusterDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show the cluster id, the active controller, every broker and every controller with its address.",
        discussion: """
            In KRaft mode the controllers are the metadata quorum's voters on their controller listeners
            (DescribeQuorum), the active one being the quorum's leader; a node without process.roles has none.
            JSON: {"cluster_id":"..","controller":1,"brokers":[{"id":1,"host":"127.0.0.1","port":9092,
            "controller":true}],"topics":3,"partitions":9,"controllers":[{"id":1,"host":"127.0.0.1","port":9093,
            "active":true}]}
            With --bootstrap-controller the controllers come from their registrations (KIP-919: DescribeCluster on a
            controller listener, each at its controller listener): {"cluster_id","controller","controllers":[..]}.

            Example:
              fjord cluster describe --bootstrap 127.0.0.1:9092
              fjord cluster describe --bootstrap-controller 127.0.0.1:9093
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions

    @Option(
        name: .customLong("bootstrap-controller"),
        help: ArgumentHelp(
            "Controller listeners, comma-separated: list the controllers registered in the metadata log instead.",
            valueName: "host:port"))
    var bootstrapController: String?

    func run() async throws {
        if let bootstrapController { return try await describeControllers(bootstrapController) }
        let (cluster, metadata, quorum) = try await connection.withAdmin { admin in
            (
                try await admin.describeCluster(), try await admin.client.refreshMetadata(allTopics: true),
                try await Self.quorum(admin)
            )
        }
        let controllers = Self.controllers(quorum)
        let brokers = cluster.brokers.sorted { $0.key < $1.key }
        let topics = metadata.topics.values.filter { !$0.isInternal }
        let partitions = topics.reduce(0) { $0 + $1.partitions.count }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    ("cluster_id", .optional(cluster.clusterID)),
                    ("controller", .int(cluster.controllerID)),
                    (
                        "brokers",
                        .array(
                            brokers.map { id, address in
                                .object([
                                    ("id", .int(id)), ("host", .string(address.host)), ("port", .int(address.port)),
                                    ("controller", .bool(id == cluster.controllerID)),
                                ])
                            })
                    ),
                    ("topics", .int(topics.count)),
                    ("partitions", .int(partitions)),
                    (
                        "controllers",
                        .array(
                            controllers.map { controller in
                                .object([
                                    ("id", .int(controller.id)), ("host", .optional(controller.endpoint?.host)),
                                    ("port", .optional(controller.endpoint?.port)),
                                    ("active", .bool(controller.active)),
                                ])
                            })
                    ),
                ]))
        case .text:
            print("Cluster ID:  \(cluster.clusterID ?? "(none)")")
            print("Controller:  \(cluster.controllerID)")
            print("Topics:      \(topics.count) (\(partitions) partitions)")
            print("")
            Output.table(
                ["ID", "HOST", "PORT", "ROLE"],
                brokers.map { id, address in
                    [
                        "\(id)", address.host, "\(address.port)",
                        quorum == nil
                            ? (id == cluster.controllerID ? "broker,controller" : "broker")
                            : (controllers.contains { $0.id == id } ? "broker,controller" : "broker"),
                    ]
                }
            )
            guard !controllers.isEmpty else { return }
            print("")
            Output.table(
                ["CONTROLLER", "HOST", "PORT", "STATUS"],
                controllers.map { controller in
                    [
                        "\(controller.id)", controller.endpoint?.host ?? "?",
                        controller.endpoint.map { "\($0.port)" } ?? "?", controller.active ? "active" : "voter",
                    ]
                })
        }
    }
}

extension ClusterDescribe {
    /// `--bootstrap-controller`: the controllers as the metadata log has them registered (KIP-919), through
    /// DescribeCluster with endpoint type 2 on a controller listener, each at its controller listener.
    func describeControllers(_ text: String) async throws {
        let addresses = try MetadataQuorumDescribe.addresses(text, option: "--bootstrap-controller")
        var configuration = try connection.clientConfiguration()
        configuration.bootstrapServers = addresses
        let client = KafkaClient(configuration: configuration)
        let cluster: ClusterDescription
        do {
            cluster = try await Admin(client: client).describeControllers(at: addresses)
            await client.close()
        } catch {
            await client.close()
            throw CLIError.wrap(error, bootstrap: text)
        }
        let controllers = cluster.brokers.sorted { $0.key < $1.key }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    ("cluster_id", .optional(cluster.clusterID)),
                    ("controller", .int(cluster.controllerID)),
                    (
                        "controllers",
                        .array(
                            controllers.map { id, address in
                                .object([
                                    ("id", .int(id)), ("host", .string(address.host)), ("port", .int(address.port)),
                                    ("active", .bool(id == cluster.controllerID)),
                                ])
                            })
                    ),
                ]))
        case .text:
            print("Cluster ID:  \(cluster.clusterID ?? "(none)")")
            print("Controller:  \(cluster.controllerID)")
            print("")
            Output.table(
                ["CONTROLLER", "HOST", "PORT", "STATUS"],
                controllers.map { id, address in
                    ["\(id)", address.host, "\(address.port)", id == cluster.controllerID ? "active" : "voter"]
                })
        }
    }

    /// One voter of the metadata quorum, on its controller listener when DescribeQuorum v2 listed it.
    struct Controller {
        var id: Int32
        var endpoint: MetadataQuorumDescription.Endpoint?
        var active: Bool
    }

    /// The metadata quorum, or nil when the cluster has none to describe (a node without process.roles does not
    /// serve DescribeQuorum).
    static func quorum(_ admin: Admin) async throws -> MetadataQuorumDescription? {
        do {
            return try await admin.describeMetadataQuorum()
        } catch let error as ClientError where error.code == .unsupportedVersion {
            return nil
        }
    }

    static func controllers(_ quorum: MetadataQuorumDescription?) -> [Controller] {
        guard let quorum else { return [] }
        return quorum.voters.map(\.nodeID).sorted().map { id in
            Controller(id: id, endpoint: quorum.nodes[id]?.first, active: id == quorum.leaderID)
        }
    }
}
