import FjordReplication
import KafkaProtocol

/// What travels between the simulated nodes (node 0 is the controller).
enum SimulatedMessage {
    case fetch(FollowerFetch, sequence: UInt64)
    /// The leader's answer; `records` are those from the answer's offset on (empty unless `.records`).
    case fetchAnswer(FetchAnswer, records: [LogRecord], sequence: UInt64)
    /// ListOffsets earliest and latest, after OFFSET_OUT_OF_RANGE.
    case listOffsets(currentLeaderEpoch: LeaderEpoch)
    case listOffsetsAnswer(logStartOffset: Int64, logEndOffset: Int64)
    case alterPartition(AlterPartitionProposal)
    case alterPartitionAnswer(AlterPartitionProposal, AlterPartitionAnswer)
    /// A broker's heartbeat; an unregistered broker's registers it (`lostData`: it recovered from a power loss). The
    /// incarnation makes registering again idempotent (Kafka's `IncarnationId`).
    case heartbeat(brokerEpoch: Int64?, incarnation: Int, lostData: Bool)
    /// The controller's answer: the broker's epoch (nil: not registered, register again) and the partition.
    case heartbeatAnswer(brokerEpoch: Int64?, PartitionRegistration)
    case metadata(PartitionRegistration)
}

/// The simulation's events. Node events carry the incarnation they were scheduled for, so a crash cancels them.
enum SimulationEvent {
    case deliver(SimulatedMessage, from: NodeID, fromIncarnation: Int, to: NodeID, toIncarnation: Int)
    /// A follower's next fetch is due (or the one in flight timed out). Only the latest timer of a replica acts
    /// (`token`): an answer or a new role schedules a new one.
    case fetchTimer(NodeID, incarnation: Int, token: UInt64)
    /// A leader's periodic work: the ISR shrink check, produce timeouts, resending an unanswered AlterPartition.
    case leaderTick(NodeID, incarnation: Int)
    case heartbeatTimer(NodeID, incarnation: Int)
    case flush(NodeID, incarnation: Int)
    case controllerTick
    case produce
    case fault(FaultAction)
    /// The end of the faulty part: producing continues, liveness is required from here on.
    case stopProducing
}

/// A fault, or the healing of one.
enum FaultAction: CustomStringConvertible {
    /// The process dies; `powerLoss`: its unflushed log tail is lost too.
    case crash(NodeID, powerLoss: Bool)
    case crashLeader(powerLoss: Bool)
    case restart(NodeID)
    case restartAll
    /// The node is cut off from every other node and the controller (clients still reach it).
    case isolate(NodeID)
    case isolateLeader
    case partition([NodeID], [NodeID])
    case cutOneWay(from: NodeID, to: NodeID)
    case weather(SimulatedNetwork.Weather)
    /// The node's fetches are slow (a lagging follower) until healed.
    case slowFollower(NodeID)
    case healNetwork

    var description: String {
        switch self {
        case .crash(let id, let powerLoss): "crash \(id)\(powerLoss ? " with power loss" : "")"
        case .crashLeader(let powerLoss): "crash the leader\(powerLoss ? " with power loss" : "")"
        case .restart(let id): "restart \(id)"
        case .restartAll: "restart all"
        case .isolate(let id): "isolate \(id)"
        case .isolateLeader: "isolate the leader"
        case .partition(let a, let b): "partition \(a) | \(b)"
        case .cutOneWay(let from, let to): "cut \(from) → \(to)"
        case .weather(let weather): "weather: \(weather)"
        case .slowFollower(let id): "slow follower \(id)"
        case .healNetwork: "heal the network"
        }
    }
}
