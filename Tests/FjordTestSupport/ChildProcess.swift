import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// A child process of a test (a broker, a Python client, a crash writer), started with `posix_spawn`.
///
/// The tests do not use Foundation's `Process`: on Linux its `run()` copies every `/proc/self/fd` entry's whole
/// 256-byte name out of `readdir`'s buffer, which reads past the end of that buffer, and with the thousands of
/// descriptors a test process holds (every suite runs in parallel in one process) the read once crossed into an
/// unmapped page and killed the whole test run (twice in fresh-clone CI: a memmove in libc, with the entry's name
/// "1357" in a register). Here the child closes every inherited descriptor above stderr with glibc's
/// `posix_spawn_file_actions_addclosefrom_np`, so the parent never walks its descriptor table.
public final class ChildProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// A descriptor of the parent (a pipe's write end, an open file), duplicated into the child.
        case descriptor(Int32)
    }

    public let pid: pid_t
    public let executable: String
    public let arguments: [String]
    /// The raw `waitpid` status once the child has been reaped.
    private let waitStatus = NIOLockedValueBox<Int32?>(nil)

    /// Starts `executable` with `arguments`, the parent's environment and, when given, `directory` as its working
    /// directory. The child runs in its own process group (as Foundation's `Process` does) so that a signal meant
    /// for the test runner's terminal does not reach it.
    public init(
        executable: String, arguments: [String], directory: String? = nil, standardOutput: Stream = .null,
        standardError: Stream = .null
    ) throws {
        self.executable = executable
        self.arguments = arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        try Self.check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0), "stdin")
        for (target, stream) in [(Int32(1), standardOutput), (Int32(2), standardError)] {
            switch stream {
            case .null:
                try Self.check(posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0), "null")
            case .descriptor(let fd):
                try Self.check(posix_spawn_file_actions_adddup2(&actions, fd, target), "dup2")
            }
        }
        try Self.check(Self.addCloseFrom(&actions, 3), "closefrom")
        if let directory {
            try Self.check(Self.addChdir(&actions, directory), "chdir")
        }
        try Self.check(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP)), "setflags")

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pointers = argv + [nil]
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, &pointers, environ)
        guard result == 0 else {
            throw TestBrokerError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// Whether the child still runs (reaps it when it has ended).
    public var isRunning: Bool {
        waitStatus.withLockedValue { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid { status = raw }
            return reaped == 0 || (reaped < 0 && errno == EINTR)
        }
    }

    /// Waits for the child to end and returns `terminationStatus`.
    @discardableResult
    public func waitUntilExit() -> Int32 {
        while isRunning { usleep(5_000) }
        return terminationStatus
    }

    /// The exit code of a child that exited, or the number of the signal that ended it (as Foundation's `Process`);
    /// -1 while it runs.
    public var terminationStatus: Int32 {
        guard let raw = waitStatus.withLockedValue({ $0 }) else { return -1 }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : signal
    }

    /// Sends `signal` to the child (nothing once it has been reaped: its pid may belong to another process by then).
    public func send(_ signal: Int32) {
        waitStatus.withLockedValue { status in
            if status == nil { _ = kill(pid, signal) }
        }
    }

    /// SIGTERM.
    public func terminate() { send(SIGTERM) }

    private static func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else {
            throw TestBrokerError(description: "posix_spawn \(what): \(String(cString: strerror(result)))")
        }
    }

    // glibc (2.34+) has both, but Swift's Glibc module does not import these GNU extensions, so they are looked up.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ fd: Int32) -> Int32
    {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return ENOSYS }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)(actions, fd)
    }

    private static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return ENOSYS }
        return path.withCString { unsafeBitCast(symbol, to: AddChdir.self)(actions, $0) }
    }
}
