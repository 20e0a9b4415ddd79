import KafkaProtocol

/// What a leader knows of one follower (Kafka's `ReplicaState`): its position as of its last fetch and when it
/// was last caught up. Updated only by that follower's fetches, reset when the leader takes over.
public struct FollowerProgress: Sendable, Hashable {
    /// The follower's log end offset: the offset of its last fetch. -1 until it fetches from this leader.
    public private(set) var logEndOffset: Int64 = -1
    public private(set) var logStartOffset: Int64 = -1
    /// The leader's log end offset when that fetch arrived.
    public private(set) var lastFetchLeaderLogEndOffset: Int64 = -1
    public private(set) var lastFetchTimeMs: Int64?
    /// The last time t at which the follower had fetched up to the leader's log end as of t: the time of a fetch
    /// that reached the leader's end then, or of the previous fetch when this one reached the end the leader had
    /// at the previous fetch (so a follower chasing a steady stream of small appends still counts as caught up).
    /// nil: never (a replica outside the ISR when the leader took over).
    public private(set) var lastCaughtUpTimeMs: Int64?
    /// The broker epoch of the follower's last fetch (-1: not sent): a fetch from an older incarnation is stale.
    public private(set) var brokerEpoch: Int64 = -1

    /// A follower as a new leader of an epoch sees it: position unknown; an ISR member counts as caught up now.
    init(takingOverAt now: Int64, inSync: Bool) {
        lastCaughtUpTimeMs = inSync ? now : nil
    }

    /// Kafka's `updateFetchStateOrThrow` (without the throw: the caller checked the broker epoch).
    mutating func recordFetch(
        offset: Int64, logStartOffset: Int64, leaderLogEndOffset: Int64, now: Int64,
        brokerEpoch: Int64
    ) {
        if offset >= leaderLogEndOffset {
            lastCaughtUpTimeMs = max(lastCaughtUpTimeMs ?? now, now)
        } else if offset >= lastFetchLeaderLogEndOffset, let previous = lastFetchTimeMs {
            lastCaughtUpTimeMs = max(lastCaughtUpTimeMs ?? previous, previous)
        }
        logEndOffset = offset
        self.logStartOffset = logStartOffset
        lastFetchLeaderLogEndOffset = max(leaderLogEndOffset, lastFetchLeaderLogEndOffset)
        lastFetchTimeMs = now
        self.brokerEpoch = brokerEpoch
    }

    /// Kafka's `isCaughtUp`: at the leader's end, or caught up within the last `maxLagMs`.
    public func isCaughtUp(leaderLogEndOffset: Int64, now: Int64, maxLagMs: Int64) -> Bool {
        if logEndOffset == leaderLogEndOffset { return true }
        guard let lastCaughtUpTimeMs else { return false }
        return now - lastCaughtUpTimeMs <= maxLagMs
    }
}
