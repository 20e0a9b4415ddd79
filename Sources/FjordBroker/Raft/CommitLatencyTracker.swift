/// The metadata quorum's commit latency on the leader (Kafka's raft metrics `commit-latency-avg` / `-max`): the time
/// from a batch's append to the leader's log until the high watermark passes its last offset. A pure value the
/// driver feeds with its monotonic clock (microseconds).
///
/// Batches appended but not committed are remembered by their last offset (bounded: at most `pendingMax`, the
/// oldest forgotten beyond that); a role change forgets them all (a follower commits what another leader appended)
/// and a truncation those cut. Samples are summarised, as Kafka's sampled stats are, in windows of `windowMicros`:
/// `stats(now:)` covers the current window and the one before (Kafka: two samples of 30 s); the totals never reset.
struct CommitLatencyTracker: Sendable, Equatable {
    /// Count, sum and maximum of commit latencies.
    struct Stats: Sendable, Equatable {
        var count: Int64 = 0
        var sumMicros: Int64 = 0
        var maxMicros: Int64 = 0

        /// The mean in milliseconds; nil without samples.
        var averageMs: Double? { count == 0 ? nil : Double(sumMicros) / Double(count) / 1000 }
        var maxMs: Double? { count == 0 ? nil : Double(maxMicros) / 1000 }

        mutating func add(_ micros: Int64) {
            count += 1
            sumMicros += micros
            maxMicros = max(maxMicros, micros)
        }

        mutating func merge(_ other: Stats) {
            count += other.count
            sumMicros += other.sumMicros
            maxMicros = max(maxMicros, other.maxMicros)
        }
    }

    let windowMicros: Int64
    let pendingMax: Int
    /// Appended, uncommitted batches: (last offset, append time), in offset order.
    private(set) var pending: [(lastOffset: Int64, appendedMicros: Int64)] = []
    /// Every sample since start.
    private(set) var total = Stats()
    private var current = Stats()
    private var currentStartMicros: Int64 = .min
    private var previous = Stats()

    init(windowMicros: Int64 = 30_000_000, pendingMax: Int = 10_000) {
        self.windowMicros = windowMicros
        self.pendingMax = pendingMax
    }

    static func == (lhs: CommitLatencyTracker, rhs: CommitLatencyTracker) -> Bool {
        lhs.total == rhs.total && lhs.current == rhs.current && lhs.previous == rhs.previous
            && lhs.pending.map(\.lastOffset) == rhs.pending.map(\.lastOffset)
    }

    /// The leader appended a batch ending at `lastOffset`.
    mutating func appended(lastOffset: Int64, now: Int64) {
        if let last = pending.last, last.lastOffset >= lastOffset { pending.removeAll { $0.lastOffset >= lastOffset } }
        pending.append((lastOffset, now))
        if pending.count > pendingMax { pending.removeFirst(pending.count - pendingMax) }
    }

    /// The high watermark reached `highWatermark` (exclusive): every batch below it is committed now.
    mutating func committed(highWatermark: Int64, now: Int64) {
        let done = pending.prefix { $0.lastOffset < highWatermark }
        guard !done.isEmpty else { return }
        roll(now: now)
        for batch in done {
            let latency = max(0, now - batch.appendedMicros)
            current.add(latency)
            total.add(latency)
        }
        pending.removeFirst(done.count)
    }

    /// The log was truncated to `endOffset`: batches beyond it will never commit.
    mutating func truncated(toEndOffset endOffset: Int64) {
        pending.removeAll { $0.lastOffset >= endOffset }
    }

    /// Not the leader any more (or newly): nothing appended so far is this node's to time.
    mutating func forgetPending() {
        pending.removeAll()
    }

    /// The samples of the current window and the previous one, as of `now`.
    func stats(now: Int64) -> Stats {
        var copy = self
        copy.roll(now: now)
        var stats = copy.current
        stats.merge(copy.previous)
        return stats
    }

    private mutating func roll(now: Int64) {
        guard currentStartMicros == .min || now - currentStartMicros >= windowMicros else { return }
        // The current window ended; it becomes the previous one unless a whole window passed since.
        let adjacent = currentStartMicros != .min && now - currentStartMicros < 2 * windowMicros
        previous = adjacent ? current : Stats()
        current = Stats()
        currentStartMicros = currentStartMicros == .min || !adjacent ? now : currentStartMicros + windowMicros
    }
}
