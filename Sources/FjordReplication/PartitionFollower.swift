import KafkaProtocol

/// A partition's follower state for one leader epoch (Kafka's `PartitionFetchState` with the truncation rules of
/// `AbstractFetcherThread`): where to fetch from, the last fetched epoch the leader checks it against, and the high
/// watermark learned from the leader. Pure: the driver sends `nextFetch`, feeds the answer in, and carries out the
/// outputs (truncate, append) on the log before feeding the log's new state back.
///
/// Flow of one fetch: `nextFetch()` → the leader's `FetchAnswer` → `.fetchAnswered(answer, log:)` → the driver
/// appends (`.appendRecords`) or truncates (`.truncate`, `.truncateFully`) → `.appended` / `.truncated` with the
/// log as it now is → the next fetch.
public struct PartitionFollower: Sendable, Hashable {
    public let localID: NodeID
    /// The leader to fetch from, -1 while the partition has none.
    public let leader: NodeID
    public let leaderEpoch: LeaderEpoch
    public private(set) var partitionEpoch: Int32
    /// The local log end: the next offset to fetch.
    public private(set) var fetchOffset: Int64
    /// The epoch of the last batch in the local log (KIP-320), sent with every fetch.
    public private(set) var lastFetchedEpoch: LeaderEpoch?
    public private(set) var logStartOffset: Int64
    /// min(the leader's high watermark, the local log end), never lowered except by a truncation below it.
    public private(set) var highWatermark: Int64
    /// Whether a fetch answered with records has been applied in this leader epoch (the log is a prefix of the
    /// leader's from then on).
    public private(set) var hasFetchedRecords = false

    /// Follows `registration.leader` in `registration.leaderEpoch` from the local log as it is: fetching resumes at
    /// the log end with the log's latest epoch, and the leader's answer says whether to truncate first.
    public init(localID: NodeID, registration: PartitionRegistration, log: LocalLogState) {
        precondition(registration.leader != localID, "\(localID) cannot follow itself in \(registration)")
        self.localID = localID
        leader = registration.leader
        leaderEpoch = registration.leaderEpoch
        partitionEpoch = registration.partitionEpoch
        fetchOffset = log.logEndOffset
        lastFetchedEpoch = log.epochs.latestEpoch
        logStartOffset = log.logStartOffset
        highWatermark = min(log.highWatermark, log.logEndOffset)
    }

    /// The fetch to send to the leader (nil while there is no leader).
    public func nextFetch(brokerEpoch: Int64 = -1) -> FollowerFetch? {
        guard leader != PartitionRegistration.noLeader else { return nil }
        return FollowerFetch(
            replicaID: localID, brokerEpoch: brokerEpoch, currentLeaderEpoch: leaderEpoch, fetchOffset: fetchOffset,
            lastFetchedEpoch: lastFetchedEpoch, logStartOffset: logStartOffset)
    }

    /// Newer metadata within this leader epoch (an ISR change): only the partition epoch moves.
    mutating func updatePartitionEpoch(_ epoch: Int32) {
        partitionEpoch = max(partitionEpoch, epoch)
    }

    public mutating func step(_ input: FollowerInput) -> [FollowerOutput] {
        switch input {
        case .fetchAnswered(let answer, let log):
            return handle(answer, log: log)
        case .appended(let log, let positions):
            hasFetchedRecords = true
            follow(log)
            logStartOffset = max(logStartOffset, min(positions.logStartOffset, log.logEndOffset))
            let learned = min(positions.highWatermark, log.logEndOffset)
            guard learned > highWatermark else { return [] }
            highWatermark = learned
            return [.highWatermarkAdvanced(learned)]
        case .truncated(let log):
            follow(log)
            logStartOffset = log.logStartOffset
            highWatermark = max(log.logStartOffset, min(highWatermark, log.logEndOffset))
            return []
        case .leaderOffsets(let leaderStart, let leaderEnd, let log):
            // Kafka's `fetchOffsetAndTruncate`: behind the leader's end only after an unclean election; before its
            // start when the leader deleted what this replica still lacks.
            if leaderEnd < log.logEndOffset { return [.truncate(to: leaderEnd)] }
            if leaderStart > log.logEndOffset { return [.truncateFully(startAt: leaderStart)] }
            return [.fetch]
        }
    }

    private mutating func follow(_ log: LocalLogState) {
        fetchOffset = log.logEndOffset
        lastFetchedEpoch = log.epochs.latestEpoch
    }

    private func handle(_ answer: FetchAnswer, log: LocalLogState) -> [FollowerOutput] {
        switch answer {
        case .records(let from, _):
            // An answer to an older fetch (the log moved since) is dropped; the next fetch asks again.
            guard from == fetchOffset, from == log.logEndOffset else { return [.fetch] }
            return [.appendRecords(from: from)]
        case .divergingEpoch(let end, _):
            return [.truncate(to: Self.truncationOffset(for: end, log: log).offset)]
        case .error(let error):
            switch error {
            case .offsetOutOfRange: return [.askLeaderOffsets]
            default: return [.backOff(error)]
            }
        }
    }

    /// Kafka's `getOffsetTruncationState`: where to truncate given the leader's end of an epoch (a diverging epoch
    /// or an OffsetForLeaderEpoch answer). If this log knows that epoch, the smaller of the two ends; if not, the
    /// end of its largest earlier epoch (not complete: the next fetch checks again with the epoch before); if it
    /// knows no epoch that old, the leader's end. Never past the local log end.
    public static func truncationOffset(for leaderEnd: EpochEndOffset, log: LocalLogState) -> (
        offset: Int64, complete: Bool
    ) {
        if leaderEnd.endOffset == -1 { return (log.logEndOffset, true) }
        if leaderEnd.epoch == -1 { return (min(leaderEnd.endOffset, log.logEndOffset), true) }
        let local = log.epochs.endOffset(for: leaderEnd.epoch, logEndOffset: log.logEndOffset)
        if local.isUndefined { return (min(leaderEnd.endOffset, log.logEndOffset), true) }
        if local.epoch != leaderEnd.epoch { return (min(local.endOffset, log.logEndOffset), false) }
        return (min(local.endOffset, leaderEnd.endOffset, log.logEndOffset), true)
    }
}

/// What happens to a follower.
public enum FollowerInput: Sendable, Hashable {
    /// The leader answered the fetch; `log` is the local log as it is (nothing applied yet).
    case fetchAnswered(FetchAnswer, log: LocalLogState)
    /// The driver appended the records of a `.records` answer carrying `positions`; `log` is the log after it.
    case appended(log: LocalLogState, positions: LeaderPositions)
    /// The driver carried out a truncation; `log` is the log after it.
    case truncated(log: LocalLogState)
    /// The leader's earliest and latest offsets (ListOffsets), asked for after OFFSET_OUT_OF_RANGE.
    case leaderOffsets(logStartOffset: Int64, logEndOffset: Int64, log: LocalLogState)
}

/// What the driver does for a follower.
public enum FollowerOutput: Sendable, Hashable {
    /// Append the answer's records (they start at `from`, the local log end) as the leader wrote them.
    case appendRecords(from: Int64)
    /// Remove everything at and after `offset` and the epochs starting there — the epochs even when `offset` is the
    /// log end (Kafka's `truncateTo`: an epoch a replica led without appending sits at its log end and would make it
    /// diverge again on every fetch); then `.truncated`.
    case truncate(to: Int64)
    /// Empty the log and start it at `offset`; then `.truncated`.
    case truncateFully(startAt: Int64)
    case highWatermarkAdvanced(Int64)
    /// Ask the leader for its earliest and latest offsets; then `.leaderOffsets`.
    case askLeaderOffsets
    /// Fetch again now.
    case fetch
    /// Fetch again after `replica.fetch.backoff.ms` (the leader or this replica has stale metadata).
    case backOff(ErrorCode)
}
