import FjordReplication
import KafkaProtocol

/// One broker of the simulation holding a replica of the partition: the process (up, incarnation, registration),
/// its disk (`SimulatedLog`, which survives crashes minus what a power loss takes), and the pure core's role.
struct SimulatedReplica {
    let id: NodeID
    var isUp = true
    /// Bumped by every crash: events and messages of an older incarnation are dropped.
    var incarnation = 0
    /// The broker epoch of the current registration; nil until the controller registered this incarnation.
    var brokerEpoch: Int64?
    /// This incarnation started after a power loss (it tells the controller when it registers).
    var recoveredFromPowerLoss = false
    var log = SimulatedLog()
    var role = ReplicaRole.none
    /// The fetch in flight (follower), with the time it was sent.
    var fetchInFlight: (sequence: UInt64, sentAt: Int64)?
    var nextFetchSequence: UInt64 = 0
    /// The token of the one fetch timer that acts (see `SimulationEvent.fetchTimer`).
    var fetchTimerToken: UInt64 = 0
    /// When the AlterPartition in flight (leader) was last sent.
    var alterPartitionSentAt: Int64?
    /// A lagging follower: its fetches are far apart.
    var isSlow = false
    var lastPowerLoss: Int64?

    init(id: NodeID) {
        self.id = id
    }

    /// Up and registered: a replica that takes part (fetches, leads) and that the invariants look at.
    var isLive: Bool { isUp && brokerEpoch != nil }

    var leader: PartitionLeader? {
        if case .leader(let leader) = role { return leader }
        return nil
    }

    var follower: PartitionFollower? {
        if case .follower(let follower) = role { return follower }
        return nil
    }

    /// The high watermark the role holds (the leader's, or the follower's learned one); the log's otherwise.
    var highWatermark: Int64 {
        switch role {
        case .leader(let leader): leader.highWatermark
        case .follower(let follower): follower.highWatermark
        case .none: log.highWatermark
        }
    }
}

/// The replicas by id (1...n), stored in an array so an access reads or changes the replica in place (a dictionary
/// hands out copies, which made the debug build of the simulation several times slower).
struct ReplicaTable {
    private var storage: [SimulatedReplica]

    init(_ replicas: [SimulatedReplica]) {
        precondition(replicas.enumerated().allSatisfy { $0.element.id == NodeID($0.offset + 1) }, "ids must be 1...n")
        storage = replicas
    }

    func contains(_ id: NodeID) -> Bool { id >= 1 && Int(id) <= storage.count }

    subscript(id: NodeID) -> SimulatedReplica {
        _read { yield storage[Int(id) - 1] }
        _modify { yield &storage[Int(id) - 1] }
    }
}
