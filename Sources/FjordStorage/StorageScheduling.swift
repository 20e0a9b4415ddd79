import NIOPosix
import ServiceLifecycle

/// Waits between the passes of the storage services (`LogFlusher`, `RetentionService`). Production sleeps; tests
/// inject one that returns when the test says so, so they never sleep (STYLE.md §9).
public typealias StorageSleep = @Sendable (Duration) async throws -> Void

/// Sleeps for real (`Task.sleep`).
public let systemStorageSleep: StorageSleep = { duration in try await Task.sleep(for: duration) }

/// Runs `pass` every `interval` until the task is cancelled or graceful shutdown begins. The blocking work of a
/// pass runs on a thread pool (the caller's `pass` hops there), never on the caller's executor.
public func runPeriodically(
    every interval: Duration, sleep: @escaping StorageSleep, _ pass: @escaping @Sendable () async throws -> Void
) async throws {
    try await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            do {
                try await sleep(interval)
            } catch is CancellationError {
                return
            }
            if Task.isCancelled { return }
            try await pass()
        }
    }
}
