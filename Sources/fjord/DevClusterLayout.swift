/// The nodes of `fjord dev cluster` and what each runs with: pure values, so the files it writes are tested without
/// starting anything.
///
/// Two shapes, as Kafka deploys KRaft: combined nodes (`--nodes N`: each `process.roles=broker,controller`, ids
/// 1...N) or separate roles (`--controllers C --brokers B`: controller-only nodes 1...C, the voters, then broker-only
/// nodes C+1...C+B, observers of the quorum that serve clients). The voters are static (`controller.quorum.voters`).
///
/// Folder layout under `--dir` (default `./fjord-cluster`):
///
///     cluster.properties          cluster.id and the shape: what a second run reuses (it never formats again)
///     node<N>/server.properties   written on every run (the ports are chosen afresh)
///     node<N>/data/               log.dirs and metadata.log.dir, formatted once by `fjord storage format` logic
///     node<N>/node.log            the node's stdout and stderr, appended to across runs
struct DevClusterLayout: Equatable {
    /// How many nodes of which roles.
    enum Shape: Equatable, CustomStringConvertible {
        /// Combined nodes (broker and controller in one process).
        case combined(nodes: Int)
        /// Controller-only and broker-only nodes.
        case separate(controllers: Int, brokers: Int)

        var description: String {
            switch self {
            case .combined(let nodes): "\(nodes) combined node\(nodes == 1 ? "" : "s")"
            case .separate(let controllers, let brokers):
                "\(controllers) controller\(controllers == 1 ? "" : "s") and \(brokers) broker\(brokers == 1 ? "" : "s")"
            }
        }

        /// The options that start this shape again.
        var options: String {
            switch self {
            case .combined(let nodes): "--nodes \(nodes)"
            case .separate(let controllers, let brokers): "--controllers \(controllers) --brokers \(brokers)"
            }
        }

        /// The roles of each node, in id order (ids from 1).
        var roles: [Node.Role] {
            switch self {
            case .combined(let nodes): Array(repeating: .combined, count: nodes)
            case .separate(let controllers, let brokers):
                Array(repeating: .controller, count: controllers) + Array(repeating: .broker, count: brokers)
            }
        }

        /// How many free ports the layout takes: a broker listener, a controller listener or both, and /metrics.
        var portCount: Int { roles.reduce(0) { $0 + $1.portCount } }
    }

    /// One node on loopback ports.
    struct Node: Equatable {
        /// `process.roles` of the node.
        enum Role: String, Equatable {
            case combined = "broker,controller"
            case controller
            case broker

            var hasBroker: Bool { self != .controller }
            var hasController: Bool { self != .broker }
            var portCount: Int { (hasBroker ? 1 : 0) + (hasController ? 1 : 0) + 1 }
        }

        var id: Int32
        var role: Role
        /// The broker listener (PLAINTEXT); nil on a controller-only node.
        var brokerPort: Int?
        /// The controller listener (CONTROLLER); nil on a broker-only node.
        var controllerPort: Int?
        var metricsPort: Int
        var folder: String

        var dataDirectory: String { folder + "/data" }
        var configPath: String { folder + "/server.properties" }
        var logPath: String { folder + "/node.log" }
        var bootstrap: String? { brokerPort.map { "\(DevClusterLayout.host):\($0)" } }
        var controllerAddress: String? { controllerPort.map { "\(DevClusterLayout.host):\($0)" } }
    }

    static let host = "127.0.0.1"
    static let stateFileName = "cluster.properties"

    var directory: String
    var shape: Shape
    var nodes: [Node]

    /// The nodes of `shape` with ids from 1; `ports` holds `shape.portCount` free ports, taken in node order: the
    /// broker listener (if any), the controller listener (if any), /metrics.
    init(directory: String, shape: Shape, ports: [Int]) {
        precondition(ports.count == shape.portCount, "one port per listener and one for /metrics per node")
        self.directory = directory
        self.shape = shape
        var free = ports.makeIterator()
        nodes = shape.roles.enumerated().map { index, role in
            let brokerPort = role.hasBroker ? free.next() : nil
            let controllerPort = role.hasController ? free.next() : nil
            return Node(
                id: Int32(index + 1), role: role, brokerPort: brokerPort, controllerPort: controllerPort,
                metricsPort: free.next()!, folder: directory + "/node" + String(index + 1))
        }
    }

    /// `count` combined nodes; three ports per node (broker, controller, metrics).
    init(directory: String, count: Int, ports: [Int]) {
        self.init(directory: directory, shape: .combined(nodes: count), ports: ports)
    }

    /// The voters: every node with the controller role.
    var controllers: [Node] { nodes.filter(\.role.hasController) }

    /// The nodes that serve clients.
    var brokers: [Node] { nodes.filter(\.role.hasBroker) }

    /// `controller.quorum.voters`: every controller, on its controller listener.
    var voters: String {
        controllers.compactMap { node in node.controllerPort.map { "\(node.id)@\(Self.host):\($0)" } }
            .joined(separator: ",")
    }

    /// The bootstrap list for clients: every broker listener (controllers serve no client data).
    var bootstrapServers: String { brokers.compactMap(\.bootstrap).joined(separator: ",") }

    /// The controller listeners (`fjord metadata-quorum --bootstrap-controller`).
    var bootstrapControllers: String { controllers.compactMap(\.controllerAddress).joined(separator: ",") }

    /// The `server.properties` of `node`, with Kafka's keys, as the README's "three nodes by hand" writes them.
    func properties(of node: Node) -> String {
        var listeners = [String]()
        if let port = node.brokerPort { listeners.append("PLAINTEXT://\(Self.host):\(port)") }
        if let port = node.controllerPort { listeners.append("CONTROLLER://\(Self.host):\(port)") }
        return [
            "# Written by `fjord dev cluster` on every start; edits are lost.",
            "process.roles=\(node.role.rawValue)",
            "node.id=\(node.id)",
            "controller.quorum.voters=\(voters)",
            "listeners=\(listeners.joined(separator: ","))",
            "controller.listener.names=CONTROLLER",
            "log.dirs=\(node.dataDirectory)",
            "metrics.listener=\(Self.host):\(node.metricsPort)",
        ].joined(separator: "\n") + "\n"
    }

    /// What a folder keeps between runs: the cluster id and the shape (the static voter set cannot grow or shrink
    /// under a formatted cluster, and a node keeps its role).
    struct State: Equatable {
        var clusterID: String
        var shape: Shape

        var rendered: String {
            switch shape {
            case .combined(let nodes): "cluster.id=\(clusterID)\nnodes=\(nodes)\n"
            case .separate(let controllers, let brokers):
                "cluster.id=\(clusterID)\ncontrollers=\(controllers)\nbrokers=\(brokers)\n"
            }
        }

        /// Parses `cluster.properties`; nil when a key is missing or malformed.
        init?(parsing entries: [(key: String, value: String)]) {
            let values = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            guard let clusterID = values["cluster.id"], !clusterID.isEmpty else { return nil }
            func count(_ key: String) -> Int? { values[key].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } }
            if let nodes = count("nodes"), values["controllers"] == nil, values["brokers"] == nil {
                self.init(clusterID: clusterID, shape: .combined(nodes: nodes))
            } else if values["nodes"] == nil, let controllers = count("controllers"), let brokers = count("brokers") {
                self.init(clusterID: clusterID, shape: .separate(controllers: controllers, brokers: brokers))
            } else {
                return nil
            }
        }

        init(clusterID: String, shape: Shape) {
            self.clusterID = clusterID
            self.shape = shape
        }
    }
}
