import FjordBroker
import FjordClient
import Foundation
import Glibc
import KafkaProtocol
import NIOConcurrencyHelpers

/// `fjord dev cluster`: a local KRaft cluster — combined nodes, or controller-only and broker-only nodes — each
/// `fjord broker` (this same binary) in a child process.
///
/// Flow: lock the folder (one run per folder); read or create `cluster.properties`; choose free loopback ports and
/// write every node's `server.properties` (`DevClusterLayout`); format the nodes whose data folder is not formatted
/// yet (`StorageFormatter`, in this process); start the nodes; wait until every broker listener accepts (a broker
/// opens it once the quorum has a leader, its metadata caught up and the controller unfenced it) and DescribeQuorum
/// names the leader; print the bootstrap list (the brokers' listeners); watch the nodes, reporting any that dies; on SIGINT or SIGTERM stop them all: SIGTERM, then
/// SIGKILL for those still running after the grace period (a second Ctrl-C skips the wait).
///
/// The nodes and their `ChildProcess` values are touched only by the one task running `run()`; signals reach it
/// through a counter.
final class DevCluster {
    let directory: String
    let shape: DevClusterLayout.Shape
    let startTimeout: Duration
    let stopTimeout: Duration
    /// `key=value` broker properties every node gets on its command line (`--override`), after its config file.
    let overrides: [String]

    private var children: [(node: DevClusterLayout.Node, process: ChildProcess)] = []
    /// Nodes whose death was already reported.
    private var reported = Set<Int32>()
    private let interrupts = NIOLockedValueBox(0)
    private static let pollInterval = Duration.milliseconds(100)

    init(
        directory: String, shape: DevClusterLayout.Shape, startTimeout: Duration, stopTimeout: Duration,
        overrides: [String] = []
    ) throws {
        self.directory = directory
        self.overrides = overrides
        self.shape = shape
        self.startTimeout = startTimeout
        self.stopTimeout = stopTimeout
    }

    /// Runs the cluster until a signal (or until every node died); the exit status: 0 when every node stopped on
    /// SIGTERM after a signal, else 1.
    func run() async throws -> Int32 {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = try lockDirectory()
        defer { close(lock) }
        let (state, reused) = try loadOrCreateState()
        let layout = DevClusterLayout(
            directory: directory, shape: state.shape, ports: try LoopbackPorts.free(count: state.shape.portCount))
        let formatted = try writeConfigurations(layout, clusterID: state.clusterID)
        // Watch the signals before the first child starts, so a Ctrl-C during start-up stops what was started.
        let signals = Signals.interrupts()
        let watcher = Task { [interrupts] in
            for await _ in signals { interrupts.withLockedValue { $0 += 1 } }
        }
        defer { watcher.cancel() }
        let origin =
            formatted.isEmpty ? "reused" : reused ? "reused, formatted node \(formatted.map(String.init))" : "new"
        print("Cluster \(state.clusterID): \(state.shape), data in \(directory) (\(origin))")
        var code: Int32 = 0
        do {
            try start(layout)
            printNodes()
            if let failure = await waitUntilServing(layout) {
                Output.error("error: \(failure)")
                code = 1
            } else if interrupts.withLockedValue({ $0 }) == 0 {
                code = await supervise()
            }
        } catch {
            Output.error("error: \(error)")
            code = 1
        }
        return max(code, await stopAll())
    }

    // MARK: Preparing the folder

    /// An exclusive `flock` on `<dir>/.lock`, held while the command runs (closing the descriptor releases it).
    private func lockDirectory() throws -> Int32 {
        let fd = open(directory + "/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("cannot open \(directory)/.lock: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw CLIError(
                "another `fjord dev cluster` is running on \(directory)", hint: "stop it, or pass another --dir")
        }
        return fd
    }

    /// The folder's cluster id and shape, or new ones written to `cluster.properties`; true when reused.
    private func loadOrCreateState() throws -> (DevClusterLayout.State, Bool) {
        let path = directory + "/" + DevClusterLayout.stateFileName
        if let data = FileManager.default.contents(atPath: path) {
            let entries = try PropertiesFile.parse(String(decoding: data, as: UTF8.self))
            guard let state = DevClusterLayout.State(parsing: entries) else {
                throw CLIError(
                    "\(path) is not a `fjord dev cluster` state file", hint: "remove it or pick another --dir")
            }
            guard state.shape == shape else {
                throw CLIError(
                    "\(directory) holds a cluster of \(state.shape) (its voters and roles are fixed when formatted)",
                    hint: "run with \(state.shape.options), or pass another --dir")
            }
            return (state, true)
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard contents.allSatisfy({ $0 == ".lock" }) else {
            throw CLIError(
                "\(directory) is not empty and holds no \(DevClusterLayout.stateFileName)",
                hint: "pass an empty or new folder with --dir")
        }
        let state = DevClusterLayout.State(clusterID: KafkaUUID.randomIdentifier().base64URLEncoded, shape: shape)
        try state.rendered.write(toFile: path, atomically: true, encoding: .utf8)
        return (state, false)
    }

    /// Writes every node's `server.properties` and formats the data folders that are not formatted yet (as `fjord
    /// storage format --cluster-id ID --config FILE` would); the ids of the nodes formatted now.
    private func writeConfigurations(_ layout: DevClusterLayout, clusterID: String) throws -> [Int32] {
        var formatted = [Int32]()
        for node in layout.nodes {
            try FileManager.default.createDirectory(atPath: node.folder, withIntermediateDirectories: true)
            let text = layout.properties(of: node)
            try text.write(toFile: node.configPath, atomically: true, encoding: .utf8)
            if try MetaProperties.load(directory: node.dataDirectory) != nil { continue }
            let configuration: BrokerConfiguration
            do {
                configuration = try BrokerConfiguration(properties: try PropertiesFile.parse(text))
            } catch {
                throw CLIError("\(node.configPath): \(error)")
            }
            try StorageFormatter(configuration: configuration, clusterID: clusterID).run { _ in }
            formatted.append(node.id)
        }
        return formatted
    }

    // MARK: Running

    private func start(_ layout: DevClusterLayout) throws {
        let executable = try ChildProcess.currentExecutable()
        for node in layout.nodes {
            let banner = "\n--- fjord dev cluster: node \(node.id) starting at \(Date()) ---\n"
            if let handle = FileHandle(forWritingAtPath: node.logPath) ?? createFile(node.logPath) {
                handle.seekToEndOfFile()
                handle.write(Data(banner.utf8))
                try? handle.close()
            }
            let process = try ChildProcess.spawn(
                executable: executable,
                arguments: ["broker", "--config", node.configPath] + overrides.flatMap { ["--override", $0] },
                logPath: node.logPath)
            children.append((node, process))
        }
    }

    private func createFile(_ path: String) -> FileHandle? {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }

    private func printNodes() {
        Output.table(
            ["NODE", "PID", "BROKER", "CONTROLLER", "METRICS", "ROLES", "LOG"],
            children.map { node, process in
                [
                    "\(node.id)", "\(process.pid)", node.bootstrap ?? "-", node.controllerAddress ?? "-",
                    "\(DevClusterLayout.host):\(node.metricsPort)", node.role.rawValue, node.logPath,
                ]
            })
        print("Waiting for the metadata quorum to elect a leader and for every node to serve ...")
        Output.flush()
    }

    /// Waits until every node serves clients and DescribeQuorum names a leader, then prints where to connect; a
    /// message when a node died or the start timeout passed first, nil when served or interrupted.
    private func waitUntilServing(_ layout: DevClusterLayout) async -> String? {
        let deadline = ContinuousClock.now + startTimeout
        var configuration = ClientConfiguration(bootstrapServers: [])
        configuration.clientID = "fjord-dev-cluster"
        configuration.requestTimeout = .seconds(5)
        configuration.connectTimeout = .seconds(2)
        configuration.logger = CLILogging.clientLogger
        let client = KafkaClient(configuration: configuration)
        defer { Task { await client.close() } }
        let controllers = layout.controllers.compactMap { node in
            node.controllerPort.map { BrokerAddress(host: DevClusterLayout.host, port: $0) }
        }
        while interrupts.withLockedValue({ $0 }) == 0 {
            if reportDeaths() {
                return "a node died during start-up; see its log above"
            }
            if layout.brokers.allSatisfy({ $0.brokerPort.map(LoopbackPorts.accepts(port:)) ?? true }),
                let quorum = try? await Admin(client: client).describeMetadataQuorum(controllers: controllers)
            {
                print("Leader: node \(quorum.leaderID) (epoch \(quorum.leaderEpoch))")
                print("Bootstrap servers: \(layout.bootstrapServers)")
                print("Controllers: \(layout.bootstrapControllers)")
                print("  export FJORD_BOOTSTRAP=\(layout.bootstrapServers)")
                print("  fjord topic create orders --partitions 3")
                print("Ctrl-C stops the cluster.")
                Output.flush()
                return nil
            }
            if ContinuousClock.now >= deadline {
                return "the cluster did not serve within \(startTimeout); see the nodes' logs listed above"
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
        return nil
    }

    /// Watches the nodes until a signal arrives or every node has ended; 1 when a node died on its own.
    private func supervise() async -> Int32 {
        var died = false
        while interrupts.withLockedValue({ $0 }) == 0 {
            died = reportDeaths() || died
            if children.allSatisfy({ $0.process.poll() != nil }) {
                Output.error("error: every node has ended")
                return 1
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
        return died ? 1 : 0
    }

    /// Prints each node that ended since the last call, with the end of its log; true if one did.
    private func reportDeaths() -> Bool {
        var any = false
        for (node, process) in children where !reported.contains(node.id) {
            guard let ending = process.poll() else { continue }
            reported.insert(node.id)
            any = true
            Output.error("node \(node.id) (pid \(process.pid)) \(ending); last lines of \(node.logPath):")
            for line in Self.tail(of: node.logPath, lines: 10) { Output.error("  | \(line)") }
        }
        return any
    }

    /// Stops every node still running: SIGTERM (brokers, then the others), then SIGKILL after the grace period or at
    /// a second signal. 0 when each stopped on SIGTERM with status 0.
    private func stopAll() async -> Int32 {
        let running = children.filter { $0.process.poll() == nil }
        guard !running.isEmpty else { return 0 }
        let signalsSeen = interrupts.withLockedValue { $0 }
        print("Stopping \(running.count) node(s) (SIGTERM; SIGKILL after \(stopTimeout)) ...")
        Output.flush()
        // Brokers first, as Kafka's operators stop them: a broker's controlled shutdown needs the active controller.
        let waves = [running.filter { $0.node.role == .broker }, running.filter { $0.node.role != .broker }]
        let deadline = ContinuousClock.now + stopTimeout
        for wave in waves where !wave.isEmpty {
            for (_, process) in wave { process.send(SIGTERM) }
            while wave.contains(where: { $0.process.poll() == nil }), ContinuousClock.now < deadline,
                interrupts.withLockedValue({ $0 }) <= max(signalsSeen, 1)
            {
                try? await Task.sleep(for: Self.pollInterval)
            }
        }
        var code: Int32 = 0
        for (node, process) in running {
            if process.poll() == nil {
                Output.error("node \(node.id) (pid \(process.pid)) did not stop in time: its threads, then SIGKILL")
                await dumpThreads(of: process, node: node)
                process.send(SIGKILL)
                code = 1
            }
        }
        // SIGKILL cannot be caught: the children end at once; reap them so none is left a zombie.
        let reapDeadline = ContinuousClock.now + .seconds(10)
        while running.contains(where: { $0.process.poll() == nil }), ContinuousClock.now < reapDeadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for (node, process) in running {
            let ending = process.poll()
            if ending != .exited(0) && ending != .signalled(SIGKILL) { code = 1 }
            print("node \(node.id) (pid \(process.pid)) \(ending.map { "\($0)" } ?? "is still running")")
        }
        Output.flush()
        return code
    }

    /// A node that does not stop is a bug to find: when `gdb` is installed, its threads' stacks go to the node's log
    /// (all of them) and to stderr (each thread's name and its frames in Fjord's own modules), before the SIGKILL.
    private func dumpThreads(of process: ChildProcess, node: DevClusterLayout.Node) async {
        guard let gdb = Self.executableOnPath("gdb") else { return }
        let mark = (try? FileManager.default.attributesOfItem(atPath: node.logPath)[.size] as? Int) ?? 0
        guard
            let dump = try? ChildProcess.spawn(
                executable: gdb, arguments: ["-p", "\(process.pid)", "-batch", "-ex", "thread apply all bt 40"],
                logPath: node.logPath)
        else { return }
        let deadline = ContinuousClock.now + .seconds(30)
        while dump.poll() == nil, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if dump.poll() == nil {
            dump.send(SIGKILL)
            while dump.poll() == nil { try? await Task.sleep(for: .milliseconds(20)) }
        }
        guard let data = FileManager.default.contents(atPath: node.logPath), data.count > mark else { return }
        let text = String(decoding: data.suffix(from: mark), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("Thread ") || line.contains("Fjord") {
            Output.error("  | \(line.prefix(240))")
        }
    }

    /// The path of `name` in one of `PATH`'s folders, if it is an executable there.
    static func executableOnPath(_ name: String) -> String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return folders.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// The last `lines` lines of a file (empty if unreadable).
    static func tail(of path: String, lines: Int) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let text = String(decoding: data.suffix(16 * 1024), as: UTF8.self)
        return Array(text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).map(String.init))
    }
}
