import FjordReplication
import KafkaProtocol

/// The invariants after every event, and the end-of-run convergence.
extension ReplicationSimulation {
    /// What the invariants read. A plain loop: a closure would capture (and in a debug build copy) the simulation.
    func snapshot() -> ClusterSnapshot {
        var snapshots: [ClusterSnapshot.Replica] = []
        snapshots.reserveCapacity(ids.count)
        for id in ids {
            let replica = replicas[id]
            var leading: ClusterSnapshot.Leading?
            var following: ClusterSnapshot.Following?
            switch replica.role {
            case .leader(let leader):
                leading = ClusterSnapshot.Leading(
                    epoch: leader.leaderEpoch, isr: leader.isr, maximalISR: leader.isrState.maximalISR,
                    replicas: leader.replicas)
            case .follower(let follower):
                following = ClusterSnapshot.Following(
                    epoch: follower.leaderEpoch, leader: follower.leader, hasFetchedRecords: follower.hasFetchedRecords)
            case .none:
                break
            }
            snapshots.append(
                ClusterSnapshot.Replica(
                    id: id, isLive: replica.isLive, log: replica.log, highWatermark: replica.highWatermark,
                    leading: leading, following: following, lastPowerLoss: replica.lastPowerLoss))
        }
        return ClusterSnapshot(replicas: snapshots, registration: controller.registration)
    }

    /// Whether liveness is required: every replica up and registered, the network calm and whole, no slow follower,
    /// and the partition not offline for good (every ISR member lost data: no unclean election).
    var isHealthy: Bool {
        guard network.isHealthy, !controller.isOfflineForGood else { return false }
        for id in ids where !replicas[id].isLive || replicas[id].isSlow { return false }
        return true
    }

    mutating func checkAfterEvent() throws(InvariantViolation) {
        try checker.check(snapshot())
        liveness.update(healthy: isHealthy, now: now)
        try liveness.check(now: now)
    }

    /// At the end (producing stopped, the cluster healthy and quiet for a while): every acknowledged record is where
    /// it was acknowledged, the leader's high watermark is its log end, every replica is in the ISR with the very
    /// same log. The acks=1 records that did not survive are counted (the documented trade-off), not asserted.
    mutating func checkAtEnd() throws(InvariantViolation) {
        let snapshot = snapshot()
        try checker.checkAcknowledged(snapshot)
        if controller.isOfflineForGood { return }
        guard let leaderID = currentLeader, let leader = replicas[leaderID].leader else {
            throw InvariantViolation(
                "convergence", "no live leader at the end: controller says \(controller.registration)")
        }
        let log = replicas[leaderID].log
        statistics.acksOneLost = acksOneRecords.filter { log.record(at: $0.offset) != $0.record }.count
        guard leader.highWatermark == log.logEndOffset else {
            throw InvariantViolation(
                "convergence", "leader \(leaderID): high watermark \(leader.highWatermark), log end \(log.logEndOffset)"
            )
        }
        guard Set(controller.registration.isr) == Set(ids) else {
            throw InvariantViolation("convergence", "ISR \(controller.registration.isr) at the end, not every replica")
        }
        for id in ids {
            let other = replicas[id].log
            guard other.logEndOffset == log.logEndOffset, other.agrees(with: log, below: log.logEndOffset) else {
                throw InvariantViolation(
                    "convergence",
                    "replica \(id) (log end \(other.logEndOffset)) differs from leader \(leaderID) (log end "
                        + "\(log.logEndOffset)) at the end: "
                        + InvariantChecker.firstDifference(other, log, below: max(other.logEndOffset, log.logEndOffset))
                )
            }
        }
    }
}
