import KafkaProtocol

/// Which leader epoch started at which offset in one replica's log: the pure rules of Kafka's
/// `LeaderEpochFileCache` (KIP-101, KIP-279), without its file. The leader answers a follower's "where did epoch N
/// end?" from it, and a follower finds its truncation point with it.
///
/// Entries are strictly increasing in both epoch and start offset. FjordStorage's `LeaderEpochCache` persists the
/// same entries (`leader-epoch-checkpoint`); a driver builds this value from them (`init(entries:)`) and applies the
/// same changes to both.
public struct LeaderEpochHistory: Sendable, Hashable, CustomStringConvertible {
    public struct Entry: Sendable, Hashable {
        public var epoch: LeaderEpoch
        public var startOffset: Int64

        public init(epoch: LeaderEpoch, startOffset: Int64) {
            self.epoch = epoch
            self.startOffset = startOffset
        }
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// The entries as stored (the checkpoint's order); non-monotonic ones are dropped as `assign` drops them.
    public init(entries: [Entry]) {
        for entry in entries { assign(epoch: entry.epoch, startOffset: entry.startOffset) }
    }

    public var latestEpoch: LeaderEpoch? { entries.last?.epoch }
    public var isEmpty: Bool { entries.isEmpty }

    /// Records that `epoch` starts at `startOffset` (a leader taking over at its log end, or the first batch of a
    /// new epoch appended). Kafka's rule: nothing to do when `epoch` is the latest and starts no earlier; otherwise
    /// every entry with an epoch ≥ `epoch` or a start ≥ `startOffset` goes first, so the history stays monotonic.
    public mutating func assign(epoch: LeaderEpoch, startOffset: Int64) {
        precondition(epoch >= 0 && startOffset >= 0, "invalid leader epoch entry (\(epoch), \(startOffset))")
        if let latest = entries.last, latest.epoch == epoch, latest.startOffset <= startOffset { return }
        while let last = entries.last, last.epoch >= epoch || last.startOffset >= startOffset { entries.removeLast() }
        entries.append(Entry(epoch: epoch, startOffset: startOffset))
    }

    /// Kafka's `endOffsetFor`: the largest epoch ≤ `epoch` the log knows and where it ended — the start of the next
    /// known epoch, or `logEndOffset` when `epoch` is the latest. `epoch` older than every entry: (`epoch`, the
    /// first entry's start) — the data before it is gone. `epoch` newer than the latest, or -1: undefined.
    public func endOffset(for epoch: LeaderEpoch, logEndOffset: Int64) -> EpochEndOffset {
        guard epoch >= 0, let latest = entries.last else { return .undefined }
        if latest.epoch == epoch { return EpochEndOffset(epoch: epoch, endOffset: logEndOffset) }
        guard let higher = entries.firstIndex(where: { $0.epoch > epoch }) else { return .undefined }
        if higher == 0 { return EpochEndOffset(epoch: epoch, endOffset: entries[0].startOffset) }
        return EpochEndOffset(epoch: entries[higher - 1].epoch, endOffset: entries[higher].startOffset)
    }

    /// What a fetch's last fetched epoch (KIP-320) says about its position in this log: Kafka's check in
    /// `Partition.readRecords`, for followers and consumers alike.
    public enum FetchCheck: Sendable, Hashable {
        /// The fetcher's log is a prefix of this one: read from the fetch offset.
        case valid
        /// The epoch cannot be placed here (unknown, or newer than every known one), or the offset is before the
        /// log start: OFFSET_OUT_OF_RANGE.
        case outOfRange
        /// The fetcher's last epoch ended earlier here (or is not known here): it must truncate to this end (the
        /// response's DivergingEpoch) before reading on. No records.
        case diverging(EpochEndOffset)
    }

    /// Checks a fetch at `fetchOffset` whose fetcher last saw `lastFetchedEpoch`, against this log (its start and
    /// end given).
    public func check(
        lastFetchedEpoch: LeaderEpoch, fetchOffset: Int64, logStartOffset: Int64, logEndOffset: Int64
    ) -> FetchCheck {
        let end = endOffset(for: lastFetchedEpoch, logEndOffset: logEndOffset)
        if end.isUndefined || fetchOffset < logStartOffset { return .outOfRange }
        if end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset { return .diverging(end) }
        return .valid
    }

    /// The epoch of the batch holding `offset` (nil before the first entry).
    public func epoch(at offset: Int64) -> LeaderEpoch? {
        entries.last { $0.startOffset <= offset }?.epoch
    }

    /// The log was truncated to end at `offset`: epochs starting at or after it go.
    public mutating func truncate(fromEnd offset: Int64) {
        while let last = entries.last, last.startOffset >= offset { entries.removeLast() }
    }

    /// The log now starts at `offset`: epochs wholly before it go, the one spanning it starts there.
    public mutating func truncate(fromStart offset: Int64) {
        guard let keep = entries.lastIndex(where: { $0.startOffset <= offset }) else { return }
        entries.removeFirst(keep)
        entries[0].startOffset = offset
    }

    public var description: String { entries.map { "\($0.epoch)@\($0.startOffset)" }.joined(separator: " ") }
}
