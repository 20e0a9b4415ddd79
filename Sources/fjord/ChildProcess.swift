import Glibc

/// A child process of `fjord dev cluster`: started with `posix_spawn`, watched with `waitpid(WNOHANG)`, stopped by
/// signals sent to its pid.
///
/// The child gets its own process group, so a Ctrl-C in the terminal reaches only the parent, which then stops the
/// nodes in order (SIGTERM, SIGKILL after a grace period) and reports each one. SIGINT, SIGTERM and SIGPIPE are reset
/// to their default actions and no signal is blocked in the child: the parent ignores SIGINT and SIGTERM while it
/// watches them (`Signals`), and an ignored signal would otherwise stay ignored across `exec`.
final class ChildProcess {
    /// How a child ended.
    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// Decodes a `waitpid` status (the `WIFEXITED` / `WTERMSIG` macros, which Swift does not import).
        init(waitStatus status: Int32) {
            let signal = status & 0x7f
            self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        }

        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signalled(let signal): return "was killed by signal \(signal) (\(String(cString: strsignal(signal))))"
            }
        }
    }

    let pid: pid_t
    /// Set once the child was reaped; a reaped pid may be reused by the system, so it is never signalled again.
    private(set) var ending: Ending?

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `executable` with `arguments`, stdin from /dev/null, stdout and stderr appended to `logPath`.
    static func spawn(executable: String, arguments: [String], logPath: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw CLIError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid)
    }

    /// Reaps the child if it has ended (never blocks); its ending, or nil while it runs.
    @discardableResult
    func poll() -> Ending? {
        if let ending { return ending }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            ending = Ending(waitStatus: status)
        } else if result < 0, errno == ECHILD {
            // Reaped elsewhere: it is gone, how is unknown.
            ending = .exited(-1)
        }
        return ending
    }

    /// Sends `signal` unless the child was already reaped.
    func send(_ signal: Int32) {
        guard poll() == nil else { return }
        kill(pid, signal)
    }

    /// The path of the running executable (`/proc/self/exe`), so the children run the same binary as the parent.
    static func currentExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw CLIError("cannot find the fjord executable (/proc/self/exe)") }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
