import NIOConcurrencyHelpers
import NIOCore

/// Waits on a pool thread (never an event loop) for a future that an event loop completes: the transaction
/// coordinator's requests to other nodes (WriteTxnMarkers, AllocateProducerIds) are made under locks that order
/// its steps, so their answers are awaited where they are needed.
enum BlockingWait {
    /// `future`'s result, or a failure once `timeoutSeconds` passed without one.
    static func result<T: Sendable>(of future: EventLoopFuture<T>, timeoutSeconds: Double) -> Result<T, any Error> {
        let done = ConditionLock(value: false)
        let outcome = NIOLockedValueBox<Result<T, any Error>?>(nil)
        future.whenComplete { result in
            outcome.withLockedValue { $0 = result }
            done.lock()
            done.unlock(withValue: true)
        }
        guard done.lock(whenValue: true, timeoutSeconds: timeoutSeconds) else {
            return .failure(BlockingWaitTimeout(seconds: timeoutSeconds))
        }
        done.unlock()
        return outcome.withLockedValue { $0! }
    }
}

/// No answer came within the wait.
struct BlockingWaitTimeout: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "no answer within \(seconds) s" }
}
