import Dispatch
import Glibc

/// SIGINT and SIGTERM as an async sequence, so long-running commands (consume, perf) stop cleanly on Ctrl-C.
enum Signals {
    /// Starts watching SIGINT and SIGTERM (their default action is disabled while the stream lives).
    static func interrupts() -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let sources = SignalSources([SIGINT, SIGTERM]) { number in continuation.yield(number) }
            continuation.onTermination = { _ in
                Task { await sources.cancel() }
            }
        }
    }

    /// The dispatch sources of the watched signals. Dispatch does not declare its sources `Sendable`, so they are
    /// confined to this actor: made in its initializer, cancelled through it.
    private actor SignalSources {
        private let sources: [any DispatchSourceSignal]

        init(_ numbers: [Int32], onSignal: @escaping @Sendable (Int32) -> Void) {
            sources = numbers.map { number -> any DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { onSignal(number) }
                source.resume()
                return source
            }
        }

        func cancel() {
            for source in sources { source.cancel() }
        }
    }
}
