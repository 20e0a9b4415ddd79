import Foundation
import NIOConcurrencyHelpers

/// Launches the tests' child processes (brokers, clients, crash writers) one at a time. Foundation's
/// `Process.run()` on Linux crashed once in a fresh-clone run (a bad pointer in a memmove inside it) while another
/// test was starting its own child at the same moment; the suites run in parallel in one process, so every launch
/// goes through one lock. Only the launch is serialized: the children then run side by side.
public enum ChildProcess {
    private static let launchLock = NIOLock()

    public static func run(_ process: Process) throws {
        try launchLock.withLock { try process.run() }
    }
}
