/// The rate a quota is measured against, as Kafka's quota sensors measure it: bytes (or other units) recorded in
/// `windows` consecutive windows of `windowMs`, divided by the time they span — never less than `windows - 1`
/// windows, so a new client is not judged on its first instant. When the rate is above the quota the client is
/// throttled for the time that brings it back down: (rate - quota) / quota × the measured span.
public struct QuotaRate: Sendable {
    public let windows: Int
    public let windowMs: Int64
    /// Start time and total of each window in use, oldest first.
    private var samples: [(start: Int64, total: Double)] = []

    public init(windows: Int, windowMs: Int64) {
        self.windows = max(windows, 2)
        self.windowMs = max(windowMs, 1)
    }

    /// Adds `amount` at `now` (ms).
    public mutating func record(_ amount: Double, now: Int64) {
        expire(now: now)
        if let last = samples.last, now - last.start < windowMs {
            samples[samples.count - 1].total += amount
        } else {
            samples.append((now - (now % windowMs), amount))
            if samples.count > windows { samples.removeFirst(samples.count - windows) }
        }
    }

    private mutating func expire(now: Int64) {
        samples.removeAll { now - $0.start >= Int64(windows) * windowMs }
    }

    /// The measured span at `now` (ms).
    func span(now: Int64) -> Int64 {
        let oldest = samples.first?.start ?? now
        return max(now - oldest, Int64(windows - 1) * windowMs, 1)
    }

    /// Units per second at `now`.
    public func rate(now: Int64) -> Double {
        let live = samples.filter { now - $0.start < Int64(windows) * windowMs }
        let total = live.reduce(0) { $0 + $1.total }
        return total / (Double(span(now: now)) / 1000)
    }

    /// How long (ms) a client over `quota` (units per second) is held back at `now`; 0 within the quota. At most
    /// the whole measured span, as Kafka caps it.
    public func throttleMs(quota: Double, now: Int64) -> Int64 {
        let observed = rate(now: now)
        guard quota > 0, observed > quota else { return 0 }
        let span = Double(span(now: now))
        let throttle = (observed - quota) / quota * span
        return Int64(min(throttle, Double(Int64(windows) * windowMs)))
    }
}
