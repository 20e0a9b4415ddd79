/// The nodes of `fjord dev cluster` and what each runs with: pure values, so the files it writes are tested without
/// starting anything.
///
/// Folder layout under `--dir` (default `./fjord-cluster`):
///
///     cluster.properties          cluster.id and nodes: what a second run reuses (it never formats again)
///     node<N>/server.properties   written on every run (the ports are chosen afresh)
///     node<N>/data/               log.dirs and metadata.log.dir, formatted once by `fjord storage format` logic
///     node<N>/node.log            the node's stdout and stderr, appended to across runs
struct DevClusterLayout: Equatable {
    /// One combined node (`process.roles=broker,controller`) on loopback ports.
    struct Node: Equatable {
        var id: Int32
        var brokerPort: Int
        var controllerPort: Int
        var metricsPort: Int
        var folder: String

        var dataDirectory: String { folder + "/data" }
        var configPath: String { folder + "/server.properties" }
        var logPath: String { folder + "/node.log" }
        var bootstrap: String { "127.0.0.1:\(brokerPort)" }
        var controllerAddress: String { "127.0.0.1:\(controllerPort)" }
    }

    static let host = "127.0.0.1"
    static let stateFileName = "cluster.properties"

    var directory: String
    var nodes: [Node]

    /// `count` combined nodes with ids 1...count; `ports` holds three free ports per node (broker, controller,
    /// metrics), in node order.
    init(directory: String, count: Int, ports: [Int]) {
        precondition(ports.count == 3 * count, "three ports per node")
        self.directory = directory
        var nodes = [Node]()
        for index in 0..<count {
            let base = 3 * index
            let folder = directory + "/node" + String(index + 1)
            nodes.append(
                Node(
                    id: Int32(index + 1), brokerPort: ports[base], controllerPort: ports[base + 1],
                    metricsPort: ports[base + 2], folder: folder))
        }
        self.nodes = nodes
    }

    /// `controller.quorum.voters`: every node, on its controller listener.
    var voters: String {
        nodes.map { "\($0.id)@\(Self.host):\($0.controllerPort)" }.joined(separator: ",")
    }

    /// The bootstrap list for clients: every node's broker listener.
    var bootstrapServers: String { nodes.map(\.bootstrap).joined(separator: ",") }

    /// The controller listeners (`fjord metadata-quorum --bootstrap-controller`).
    var bootstrapControllers: String { nodes.map(\.controllerAddress).joined(separator: ",") }

    /// The `server.properties` of `node`, with Kafka's keys, as the README's "three nodes by hand" writes them.
    func properties(of node: Node) -> String {
        [
            "# Written by `fjord dev cluster` on every start; edits are lost.",
            "process.roles=broker,controller",
            "node.id=\(node.id)",
            "controller.quorum.voters=\(voters)",
            "listeners=PLAINTEXT://\(Self.host):\(node.brokerPort),CONTROLLER://\(Self.host):\(node.controllerPort)",
            "controller.listener.names=CONTROLLER",
            "log.dirs=\(node.dataDirectory)",
            "metrics.listener=\(Self.host):\(node.metricsPort)",
        ].joined(separator: "\n") + "\n"
    }

    /// What a folder keeps between runs: the cluster id and the number of nodes (the static voter set cannot grow
    /// or shrink under a formatted cluster).
    struct State: Equatable {
        var clusterID: String
        var nodeCount: Int

        var rendered: String { "cluster.id=\(clusterID)\nnodes=\(nodeCount)\n" }

        /// Parses `cluster.properties`; nil when a key is missing or malformed.
        init?(parsing entries: [(key: String, value: String)]) {
            let values = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            guard let clusterID = values["cluster.id"], !clusterID.isEmpty, let text = values["nodes"],
                let count = Int(text), count > 0
            else { return nil }
            self.init(clusterID: clusterID, nodeCount: count)
        }

        init(clusterID: String, nodeCount: Int) {
            self.clusterID = clusterID
            self.nodeCount = nodeCount
        }
    }
}
