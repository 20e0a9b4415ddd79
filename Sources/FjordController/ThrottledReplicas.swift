/// A topic's `leader.replication.throttled.replicas` or `follower.replication.throttled.replicas` (KIP-73): the
/// replicas whose replication traffic counts against the broker's replication quota — every replica (`*`), or
/// `partition:broker` pairs. Kafka's `kafka-reassign-partitions.sh --throttle` names a moving partition's current
/// replicas on the leader side and its new replicas on the follower side.
public enum ThrottledReplicas: Sendable, Equatable {
    case all
    case some(Set<Pair>)

    public struct Pair: Hashable, Sendable {
        public var partition: Int32
        public var broker: Int32

        public init(partition: Int32, broker: Int32) {
            self.partition = partition
            self.broker = broker
        }
    }

    /// Nil for text that is neither `*` nor `p:b` pairs (an empty list is allowed: nothing is throttled).
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" {
            self = .all
            return
        }
        var pairs = Set<Pair>()
        var items = trimmed.split(separator: ",", omittingEmptySubsequences: false)
        // As Java's String.split, which Kafka's list parsing uses: trailing empty items are dropped.
        while let last = items.last, String(last).trimmingCharacters(in: .whitespaces).isEmpty { items.removeLast() }
        for item in items {
            let entry = String(item).trimmingCharacters(in: .whitespaces)
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let partition = Int32(parts[0]), let broker = Int32(parts[1]), partition >= 0,
                broker >= 0
            else { return nil }
            pairs.insert(Pair(partition: partition, broker: broker))
        }
        self = .some(pairs)
    }

    /// Whether the replica of `partition` on `broker` is throttled.
    public func throttles(partition: Int32, broker: Int32) -> Bool {
        switch self {
        case .all: true
        case .some(let pairs): pairs.contains(Pair(partition: partition, broker: broker))
        }
    }
}
