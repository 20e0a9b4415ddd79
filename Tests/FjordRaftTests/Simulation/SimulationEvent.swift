import FjordRaft
import KafkaProtocol

/// What happens at one point of simulated time. Events of a node carry the incarnation they were scheduled for, so
/// that a tick, fsync or snapshot of a process that crashed since is dropped (messages are not: a packet sent before
/// a crash may still arrive).
enum SimulationEvent {
    case tick(NodeID, incarnation: Int)
    case deliver(RaftMessage, from: NodeID, to: NodeID)
    case fsyncCompleted(NodeID, incarnation: Int)
    case takeSnapshot(NodeID, incarnation: Int)
    /// Clients propose to every node that believes it leads.
    case propose
    case fault(FaultAction)
    /// The final calm phase has lasted the liveness bound: remember the committed end every node must reach.
    case setCatchUpTarget
}

/// One step of a fault schedule. Actions naming "the leader" pick it when they run.
enum FaultAction: Equatable, CustomStringConvertible {
    case crash(NodeID)
    case crashLeader
    case restart(NodeID)
    /// Graceful shutdown of the leader: `.resign`, then the process stops a little later.
    case resignLeader
    /// Cuts every link between the two groups.
    case partition([NodeID], [NodeID])
    /// Cuts the leader off from the voters (and from the observers too unless `keepObservers`).
    case isolateLeader(keepObservers: Bool)
    /// One-way cuts: each `from` no longer reaches its `to`.
    case cutOneWay([SimulatedNetwork.Link])
    case weather(SimulatedNetwork.Weather)
    /// Heals every link and calms the network.
    case healNetwork
    /// Restarts every crashed node.
    case restartAll
    /// The end of a graceful shutdown: the process stops unless it already crashed and restarted.
    case crashIfIncarnation(NodeID, Int)

    var description: String {
        switch self {
        case .crash(let node): "crash node \(node)"
        case .crashLeader: "crash the leader"
        case .restart(let node): "restart node \(node)"
        case .resignLeader: "the leader resigns and shuts down"
        case .partition(let a, let b): "partition \(a) | \(b)"
        case .isolateLeader(let keepObservers): "isolate the leader\(keepObservers ? " from the voters" : "")"
        case .cutOneWay(let links): "cut " + links.map { "\($0.from)→\($0.to)" }.joined(separator: ", ")
        case .weather(let weather): "weather: \(weather)"
        case .healNetwork: "heal the network"
        case .restartAll: "restart every crashed node"
        case .crashIfIncarnation(let node, _): "node \(node) shuts down"
        }
    }
}
