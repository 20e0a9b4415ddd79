import KafkaProtocol

/// Which replica a consumer should fetch from (KIP-392, `replica.selector.class`): the leader answers a consumer's
/// fetch with a preferred read replica instead of records when the selector names another replica, and the consumer
/// fetches from that follower until it is told otherwise.
///
/// Kafka's two selectors: `LeaderSelector` (always the leader: the behaviour without the setting) and
/// `RackAwareReplicaSelector`: with a client rack (`client.rack`), a replica in that rack — the leader if it is
/// there, else the most caught-up one (highest log end, then the most recently caught up) — else the leader.
/// Candidates are the leader and the ISR followers whose log holds the fetch offset (Kafka's
/// `ReplicaManager.findPreferredReadReplica`: a follower outside the ISR may lag indefinitely).
public enum ReadReplicaSelector: Sendable, Equatable {
    case leader
    case rackAware

    public static let leaderClassName = "org.apache.kafka.common.replica.LeaderSelector"
    public static let rackAwareClassName = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

    /// The selector a `replica.selector.class` names; nil for a class this broker does not have.
    public init?(className: String) {
        switch className {
        case Self.leaderClassName: self = .leader
        case Self.rackAwareClassName: self = .rackAware
        default: return nil
        }
    }

    /// The replica a consumer in `clientRack` should fetch `fetchOffset` from, or nil when it is the leader itself
    /// (then the leader serves the fetch). `rackOf` gives a broker's rack (nil: none).
    public func preferredReadReplica(
        of leader: PartitionLeader, clientRack: String, fetchOffset: Int64, now: Int64,
        rackOf: (NodeID) -> String?
    ) -> NodeID? {
        guard self == .rackAware, !clientRack.isEmpty else { return nil }
        if rackOf(leader.localID) == clientRack { return nil }
        let candidates = leader.followers.filter { id, progress in
            leader.isr.contains(id) && rackOf(id) == clientRack && progress.logEndOffset >= fetchOffset
                && progress.logStartOffset <= fetchOffset
        }
        // Most caught up: the highest log end, then the smallest time since last caught up, then the lowest id.
        let best = candidates.max { a, b in
            if a.value.logEndOffset != b.value.logEndOffset { return a.value.logEndOffset < b.value.logEndOffset }
            let lagA = a.value.lastCaughtUpTimeMs.map { now - $0 } ?? .max
            let lagB = b.value.lastCaughtUpTimeMs.map { now - $0 } ?? .max
            if lagA != lagB { return lagA > lagB }
            return a.key > b.key
        }
        return best?.key
    }
}
