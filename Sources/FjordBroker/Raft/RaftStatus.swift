import FjordRaft
import KafkaProtocol

/// What the rest of the node may read of the quorum without asking the driver: published by the driver after
/// every round it ran, read by handlers on any thread (`RaftDriver.status`).
struct RaftStatus: Sendable, Equatable {
    /// The role, epoch, leader and vote as of the last round.
    var role: RaftRoleSummary
    /// The high watermark this node knows (nil until it learned one).
    var highWatermark: Int64?
    /// The offset after the last committed batch handed to the metadata image.
    var committedEndOffset: Int64
    /// Whether the image has caught up with what was committed when this node started (`RaftStateMachine`).
    var isCaughtUp: Bool
    /// On the leader: commit latencies of the last two windows (`CommitLatencyTracker`); empty elsewhere until it
    /// led.
    var commitLatency = CommitLatencyTracker.Stats()

    /// Whether this node leads the quorum: it is the active controller.
    var isLeader: Bool { role.name == .leader }
}
