import NIOConcurrencyHelpers
import NIOCore

/// The answer to one request on a `ControllerConnection`, completed once: by the response, its timeout, the
/// connection's close, or a write that failed before the request reached the socket — whichever comes first; the
/// others are no-ops. Several of them can happen to one request (a write to a channel that closes meanwhile fails,
/// and the close fails every request still waiting), and a request nobody completes would leave its sender waiting
/// forever: a broker's heartbeat loop once did, after a connection closed between its connect and its first write.
final class ControllerResponsePromise: Sendable {
    private let promise: EventLoopPromise<ByteBuffer>
    private let isCompleted = NIOLockedValueBox(false)

    init(_ promise: EventLoopPromise<ByteBuffer>) {
        self.promise = promise
    }

    var futureResult: EventLoopFuture<ByteBuffer> { promise.futureResult }

    func succeed(_ body: ByteBuffer) {
        if claim() { promise.succeed(body) }
    }

    func fail(_ error: any Error) {
        if claim() { promise.fail(error) }
    }

    /// True for the first completion only.
    private func claim() -> Bool {
        isCompleted.withLockedValue { completed in
            defer { completed = true }
            return !completed
        }
    }
}
