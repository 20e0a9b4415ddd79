import ArgumentParser
import FjordClient

/// `fjord cluster describe`: the cluster id, the controller and the brokers.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Show the cluster.",
        subcommands: [ClusterDescribe.self]
    )
}

struct ClusterDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show the cluster id, the active controller and every broker with its address.",
        discussion: """
            JSON: {"cluster_id":"..","controller":1,"brokers":[{"id":1,"host":"127.0.0.1","port":9092,
            "controller":true}],"topics":3,"partitions":9}

            Example:
              fjord cluster describe --bootstrap 127.0.0.1:9092
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        let (cluster, metadata) = try await connection.withAdmin { admin in
            (try await admin.describeCluster(), try await admin.client.refreshMetadata(allTopics: true))
        }
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
                        id == cluster.controllerID ? "broker,controller" : "broker",
                    ]
                }
            )
        }
    }
}
