import FjordStorage
import NIOConcurrencyHelpers

/// A clock that moves only when told (a `StorageClock`), for tests of time-driven behaviour that never sleep.
public final class ManualClock: StorageClock {
    private let now: NIOLockedValueBox<Int64>

    public init(milliseconds: Int64 = 1_700_000_000_000) {
        now = NIOLockedValueBox(milliseconds)
    }

    public func nowMilliseconds() -> Int64 { now.withLockedValue { $0 } }

    public func advance(byMilliseconds delta: Int64) {
        now.withLockedValue { $0 += delta }
    }
}
