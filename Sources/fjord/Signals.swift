import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM as an async sequence, so long-running commands (consume, perf) stop cleanly on Ctrl-C.
enum Signals {
    /// Starts watching SIGINT and SIGTERM (their default action is disabled while the stream lives).
    static func interrupts() -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            }
            let box = SourcesBox(sources)
            continuation.onTermination = { _ in
                for source in box.sources { source.cancel() }
            }
        }
    }

    private final class SourcesBox: @unchecked Sendable {
        let sources: [any DispatchSourceSignal]
        init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
    }
}
