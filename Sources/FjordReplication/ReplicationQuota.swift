/// A replication quota (KIP-73): the bytes a broker sent (leader side) or fetched (follower side) for throttled
/// replicas, measured as Kafka's `ReplicationQuotaManager` measures them — a rate over `windowCount` windows of
/// `windowMs` (`replication.quota.window.num`, `replication.quota.window.size.seconds`) — against a bound in bytes
/// per second (`leader.replication.throttled.rate`, `follower.replication.throttled.rate`). While the rate is above
/// the bound, throttled replicas that are not in sync get no data; their next fetch tries again.
///
/// As Kafka's `Rate`, the elapsed time the bytes are divided by is at least `windowCount - 1` windows, so a quota
/// allows a burst of about that many seconds' worth before it holds traffic back.
public struct ReplicationQuota: Sendable {
    public var bytesPerSecond: Int64
    public let windowCount: Int
    public let windowMs: Int64
    /// (window start, bytes) for the recent windows, oldest first.
    private var windows: [(start: Int64, bytes: Int64)] = []

    public init(bytesPerSecond: Int64 = .max, windowCount: Int = 11, windowMs: Int64 = 1000) {
        self.bytesPerSecond = bytesPerSecond
        self.windowCount = max(windowCount, 2)
        self.windowMs = max(windowMs, 1)
    }

    public var isUnlimited: Bool { bytesPerSecond == .max }

    /// Counts `bytes` of throttled replication at `now` (milliseconds).
    public mutating func record(_ bytes: Int, now: Int64) {
        guard bytes > 0 else { return }
        expire(now: now)
        let start = now - now % windowMs
        if let last = windows.last, last.start == start {
            windows[windows.count - 1].bytes += Int64(bytes)
        } else {
            windows.append((start, Int64(bytes)))
        }
    }

    /// Whether the measured rate is above the bound at `now`.
    public func isExceeded(now: Int64) -> Bool {
        guard !isUnlimited else { return false }
        let horizon = now - Int64(windowCount) * windowMs
        let recent = windows.filter { $0.start > horizon }
        guard let oldest = recent.first else { return false }
        let total = recent.reduce(Int64(0)) { $0 + $1.bytes }
        let elapsed = max(now - oldest.start, Int64(windowCount - 1) * windowMs, 1)
        return Double(total) * 1000 / Double(elapsed) > Double(bytesPerSecond)
    }

    private mutating func expire(now: Int64) {
        let horizon = now - Int64(windowCount) * windowMs
        windows.removeAll { $0.start <= horizon }
    }
}
