import Glibc
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
