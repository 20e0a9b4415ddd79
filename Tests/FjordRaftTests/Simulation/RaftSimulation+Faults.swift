import FjordRaft
import KafkaProtocol

/// Carrying out fault actions, and working out whether a healthy majority exists (for the liveness check).
extension RaftSimulation {
    /// Carries out `action` now, between events (the named scenarios' way in), and checks the invariants after it
    /// as after any event.
    mutating func apply(_ action: FaultAction) throws(InvariantViolation) {
        record("FAULT \(action)", milestone: true)
        try carryOut(action)
        try checkAfterEvent()
    }

    mutating func carryOut(_ action: FaultAction) throws(InvariantViolation) {
        switch action {
        case .crash(let id):
            crash(id)
        case .crashLeader:
            if let leader { crash(leader) }
        case .restart(let id):
            try restart(id)
        case .restartAll:
            for id in parameters.nodeIDs { try restart(id) }
        case .resignLeader:
            guard let leader else { break }
            try step(leader, .resign)
            // The process stops once the EndQuorumEpoch requests are out (a graceful shutdown).
            let incarnation = nodes[leader]!.incarnation
            queue.schedule(.fault(.crashIfIncarnation(leader, incarnation)), at: now + draw(5...40))
        case .crashIfIncarnation(let id, let incarnation):
            if isCurrent(id, incarnation) { crash(id) }
        case .partition(let groupA, let groupB):
            network.partition(groupA, groupB)
        case .isolateLeader(let keepObservers):
            guard let leader else { break }
            let others = parameters.nodeIDs.filter { $0 != leader && (!keepObservers || nodes[$0]!.isVoter) }
            network.partition([leader], others)
        case .cutOneWay(let links):
            for link in links { network.cut(from: link.from, to: link.to) }
        case .weather(let weather):
            network.weather = weather
        case .healNetwork:
            network.healAll()
            network.weather = .calm
        }
        updateLiveness()
    }

    /// Tells the liveness monitor which voters form a healthy majority now.
    mutating func updateLiveness() {
        liveness.update(healthyMajority: healthyMajority(), now: now)
    }

    /// The largest set of at least a majority of voters that are up and pairwise connected both ways, on a calm
    /// network; nil when there is none.
    func healthyMajority() -> [NodeID]? {
        guard network.weather == .calm else { return nil }
        let up = parameters.voterIDs.filter { nodes[$0]!.isUp }
        guard up.count >= checker.majority else { return nil }
        // At most 5 voters: try every subset, largest first.
        var best: [NodeID]?
        for mask in 1..<(1 << up.count) {
            let members = up.indices.filter { mask & (1 << $0) != 0 }.map { up[$0] }
            guard members.count >= checker.majority, members.count > (best?.count ?? 0) else { continue }
            let connected = members.allSatisfy { a in members.allSatisfy { b in a == b || network.areConnected(a, b) } }
            if connected { best = members }
        }
        return best
    }
}
