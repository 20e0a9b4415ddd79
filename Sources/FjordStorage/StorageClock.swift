import NIOConcurrencyHelpers

/// Wall-clock milliseconds since the epoch, injectable so retention and roll tests do not sleep (STYLE.md §9).
public protocol StorageClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// The system clock.
public struct SystemStorageClock: StorageClock {
    public init() {}

    public func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told, for tests.
public final class ManualStorageClock: StorageClock {
    private let now: NIOLockedValueBox<Int64>

    public init(milliseconds: Int64 = 1_700_000_000_000) {
        now = NIOLockedValueBox(milliseconds)
    }

    public func nowMilliseconds() -> Int64 { now.withLockedValue { $0 } }

    public func advance(byMilliseconds delta: Int64) {
        now.withLockedValue { $0 += delta }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
