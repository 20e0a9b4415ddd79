import FjordRaft
import KafkaProtocol

/// One node as the simulated driver holds it: the Raft core of the running process (nil while crashed), its disk
/// and its state machine. The incarnation counts restarts so that timers of a dead process are dropped.
struct SimulatedNode {
    let id: NodeID
    let isVoter: Bool
    var raft: RaftNode?
    var incarnation = 0
    var disk = SimulatedDisk()
    var stateMachine = SimulatedStateMachine()
    var fsyncScheduled = false
    /// Snapshots this node installed from a leader (FetchSnapshot), over all incarnations.
    var snapshotsInstalled = 0

    init(id: NodeID, isVoter: Bool) {
        self.id = id
        self.isVoter = isVoter
    }

    var isUp: Bool { raft != nil }
    var role: RaftRoleSummary? { raft?.role }
    var isLeader: Bool { raft?.role.name == .leader }
}
