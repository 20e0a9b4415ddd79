import FjordReplication
import KafkaProtocol

/// Carrying out faults.
extension ReplicationSimulation {
    /// Carries out `action` now (the named scenarios' way in) and checks the invariants after it.
    mutating func apply(_ action: FaultAction) throws(InvariantViolation) {
        record("FAULT \(action)", milestone: true)
        try carryOut(action)
        try checkAfterEvent()
    }

    mutating func carryOut(_ action: FaultAction) throws(InvariantViolation) {
        switch action {
        case .crash(let id, let powerLoss):
            try crash(id, powerLoss: powerLoss)
        case .crashLeader(let powerLoss):
            if let leader = believedLeader { try crash(leader, powerLoss: powerLoss) }
        case .restart(let id):
            restart(id)
        case .restartAll:
            for id in ids { restart(id) }
        case .isolate(let id):
            isolate(id)
        case .isolateLeader:
            if let leader = believedLeader { isolate(leader) }
        case .partition(let groupA, let groupB):
            network.partition(groupA, groupB)
        case .cutOneWay(let from, let to):
            network.cut(from: from, to: to)
        case .weather(let weather):
            network.weather = weather
        case .slowFollower(let id):
            replicas[id].isSlow = true
        case .healNetwork:
            network.healAll()
            for id in ids { replicas[id].isSlow = false }
        }
    }

    /// The live replica that believes it leads the highest epoch.
    var believedLeader: NodeID? {
        ids.filter { replicas[$0].isLive && replicas[$0].leader != nil }
            .max { replicas[$0].leader!.leaderEpoch < replicas[$1].leader!.leaderEpoch }
    }

    private mutating func isolate(_ id: NodeID) {
        let others = [SimulationParameters.controllerID] + ids.filter { $0 != id }
        network.partition([id], others)
    }

    /// The process dies: its role and everything in flight go; a power loss also takes the log's unflushed tail.
    /// Produces waiting there are lost to their clients (a disconnect, never an acknowledgment).
    mutating func crash(_ id: NodeID, powerLoss: Bool) throws(InvariantViolation) {
        guard replicas[id].isUp else { return }
        liveness.update(healthy: false, now: now)
        var replica = replicas[id]
        replica.isUp = false
        replica.incarnation += 1
        replica.brokerEpoch = nil
        replica.role = .none
        replica.fetchInFlight = nil
        replica.alterPartitionSentAt = nil
        replica.isSlow = false
        var lostFrom: Int64?
        if powerLoss {
            let lost = replica.log.losePower()
            statistics.powerLosses += 1
            replica.lastPowerLoss = now
            replica.recoveredFromPowerLoss = true
            if !lost.isEmpty { lostFrom = replica.log.logEndOffset }
            record("\(id) lost \(lost.count) unflushed records", milestone: true)
        }
        replicas[id] = replica
        for (produceID, produce) in pendingProduces where produce.node == id {
            pendingProduces[produceID] = nil
            try liveness.completed(produceID, .notLeaderOrFollower, now: now)
        }
        if let lostFrom { try checker.checkAcknowledged(snapshot(), from: lostFrom) }
    }

    /// The process starts again from its disk (high watermark from the checkpoint) and registers with the
    /// controller before taking any part.
    mutating func restart(_ id: NodeID) {
        guard !replicas[id].isUp else { return }
        replicas[id].isUp = true
        replicas[id].log.restart()
        scheduleTimers(id)
    }
}
