import KafkaProtocol

/// Places the replicas of new partitions on the usable brokers: registered, unfenced and not in controlled
/// shutdown. Pure: the only randomness is the caller's `seed`.
///
/// The brokers are first ordered rack by rack in turn (the first broker of each rack, then the second of each,
/// ...; racks and brokers within a rack sorted, brokers without a rack forming one group), so neighbours in the
/// order sit on different racks whenever racks differ. Then, for the n-th partition placed:
/// - its leader is the broker at position `start + n` of that order, wrapping: leaders go round-robin, so over a
///   fresh topic no broker leads more than one partition more than any other;
/// - its followers are taken walking the order from the leader plus a shift that grows by one each full round
///   (so the same brokers are not always paired), skipping brokers already chosen and, while the partition does
///   not yet cover every rack, brokers on racks it already has: a partition spans min(replication factor, racks)
///   racks, Kafka's striped placer's first goal.
///
/// `start` and the first shift come from the seed, so repeated creations do not pile leaders on one broker.
public struct ReplicaPlacer: Sendable {
    /// A broker placement may use.
    public struct Candidate: Hashable, Sendable {
        public var id: NodeID
        public var rack: String?

        public init(id: NodeID, rack: String?) {
            self.id = id
            self.rack = rack
        }
    }

    /// The brokers in placement order (rack-alternated).
    public let order: [Candidate]
    private let start: Int
    private let shiftBase: Int

    /// A placer over the usable brokers of `image`.
    public init(image: MetadataImage, seed: UInt64) {
        self.init(
            candidates: image.brokerRegistrations.values.filter(\.isActive).map { Candidate(id: $0.id, rack: $0.rack) },
            seed: seed)
    }

    public init(candidates: [Candidate], seed: UInt64) {
        let racks = Dictionary(grouping: candidates, by: \.rack)
            .map { (rack: $0.key, brokers: $0.value.sorted { $0.id < $1.id }) }
            .sorted { ($0.rack ?? "") < ($1.rack ?? "") || ($0.rack == nil && $1.rack != nil) }
        var order = [Candidate]()
        for round in 0..<(racks.map(\.brokers.count).max() ?? 0) {
            for rack in racks where round < rack.brokers.count { order.append(rack.brokers[round]) }
        }
        self.order = order
        let count = UInt64(max(order.count, 1))
        start = Int(seed % count)
        shiftBase = Int((seed / count) % count)
    }

    /// Why `replicationFactor` replicas cannot be placed, in Kafka's words (without the "Unable to replicate the
    /// partition N time(s): " prefix the caller adds), or nil when they can.
    public func problem(replicationFactor: Int16) -> String? {
        if replicationFactor <= 0 {
            return "Invalid replication factor \(replicationFactor): the replication factor must be positive."
        }
        if order.isEmpty { return "All brokers are currently fenced." }
        if Int(replicationFactor) > order.count {
            return "The target replication factor of \(replicationFactor) cannot be reached because only "
                + "\(order.count) broker(s) are registered."
        }
        return nil
    }

    /// The replicas, leader first, of `count` new partitions. Precondition: `problem(replicationFactor:)` is nil.
    public func place(count: Int32, replicationFactor: Int16) -> [[Int32]] {
        precondition(problem(replicationFactor: replicationFactor) == nil, "placement of an impossible factor")
        let brokers = order.count
        let rackCount = Set(order.map(\.rack)).count
        return (0..<Int(count)).map { n in
            let leaderIndex = (start + n) % brokers
            var chosen = [order[leaderIndex]]
            // 1 ..< brokers, advancing each time every broker has led once.
            let shift = brokers > 1 ? 1 + (shiftBase + n / brokers) % (brokers - 1) : 0
            var position = leaderIndex + shift
            while chosen.count < Int(replicationFactor) {
                let racksCovered = Set(chosen.map(\.rack))
                let needNewRack = racksCovered.count < rackCount
                let next = (0..<brokers).lazy.map { self.order[(position + $0) % brokers] }.first { candidate in
                    !chosen.contains(candidate) && (!needNewRack || !racksCovered.contains(candidate.rack))
                }!
                chosen.append(next)
                position = order.firstIndex(of: next)! + 1
            }
            return chosen.map(\.id)
        }
    }
}
