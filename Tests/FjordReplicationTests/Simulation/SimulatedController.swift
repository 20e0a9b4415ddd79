import FjordReplication
import KafkaProtocol

/// The active controller of the simulation, reduced to what one partition needs (the quorum behind it is FjordRaft's
/// business and is assumed available): broker registrations and sessions, fencing, elections from the ISR (never
/// unclean), and AlterPartition validated as Kafka's `ReplicationControlManager` validates it. Every change bumps the
/// partition epoch; every election bumps the leader epoch too.
struct SimulatedController {
    private(set) var registration: PartitionRegistration
    /// The broker epoch of each broker's current registration.
    private(set) var brokerEpochs: [NodeID: Int64] = [:]
    private(set) var fenced: Set<NodeID> = []
    private(set) var lastHeartbeat: [NodeID: Int64] = [:]
    private var registeredIncarnations: [NodeID: Int] = [:]
    private var nextBrokerEpoch: Int64 = 100
    private(set) var elections = 0

    init(replicas: [NodeID]) {
        registration = PartitionRegistration(
            leader: replicas[0], leaderEpoch: 0, partitionEpoch: 0, replicas: replicas, isr: replicas)
        for id in replicas {
            brokerEpochs[id] = nextBrokerEpoch
            nextBrokerEpoch += 1
            lastHeartbeat[id] = 0
            registeredIncarnations[id] = 0
        }
    }

    /// The partition has no leader and no ISR member can ever lead again (all lost data in power failures).
    var isOfflineForGood: Bool { registration.isr.isEmpty }

    /// A broker's session expired (or it restarted): out of the ISR unless it is the last member, a new leader from
    /// the rest of the ISR if it led. Whether the partition changed.
    @discardableResult
    mutating func fence(_ id: NodeID) -> Bool {
        guard !fenced.contains(id) else { return false }
        fenced.insert(id)
        var next = registration
        if next.isr.contains(id), next.isr.count > 1 { next.isr.removeAll { $0 == id } }
        if next.leader == id {
            next.leader = next.replicas.first { next.isr.contains($0) && !fenced.contains($0) } ?? -1
            next.leaderEpoch += 1
            elections += 1
        }
        return commit(next)
    }

    /// A broker (re)registers after a restart: its old incarnation is fenced first; a broker that lost data in a power
    /// failure leaves the ISR even as its last member (KIP-966's unclean-shutdown rule: with unclean election off,
    /// the partition then stays offline); a leaderless partition elects it if it is in the ISR. Its new broker epoch.
    mutating func register(_ id: NodeID, incarnation: Int, lostData: Bool, now: Int64) -> Int64 {
        if registeredIncarnations[id] == incarnation, let epoch = brokerEpochs[id] { return epoch }
        registeredIncarnations[id] = incarnation
        fence(id)
        brokerEpochs[id] = nextBrokerEpoch
        nextBrokerEpoch += 1
        lastHeartbeat[id] = now
        var next = registration
        if lostData { next.isr.removeAll { $0 == id } }
        commit(next)
        unfence(id)
        return brokerEpochs[id]!
    }

    /// A heartbeat of the broker's current registration: keeps its session, unfences it if it was fenced while alive
    /// (cut off, not crashed).
    mutating func heartbeat(_ id: NodeID, brokerEpoch: Int64, now: Int64) -> Bool {
        guard brokerEpochs[id] == brokerEpoch else { return false }
        lastHeartbeat[id] = now
        if fenced.contains(id) { unfence(id) }
        return true
    }

    /// Fences every unfenced broker whose session expired; whether the partition changed.
    mutating func expireSessions(now: Int64, sessionTimeoutMs: Int64) -> Bool {
        var changed = false
        for (id, last) in lastHeartbeat.sorted(by: { $0.key < $1.key })
        where !fenced.contains(id) && now - last > sessionTimeoutMs {
            changed = fence(id) || changed
        }
        return changed
    }

    private mutating func unfence(_ id: NodeID) {
        fenced.remove(id)
        var next = registration
        if next.leader == -1, next.isr.contains(id) {
            next.leader = id
            next.leaderEpoch += 1
            elections += 1
        }
        commit(next)
    }

    @discardableResult
    private mutating func commit(_ next: PartitionRegistration) -> Bool {
        guard next != registration else { return false }
        var next = next
        next.partitionEpoch += 1
        precondition(Set(next.isr).isSubset(of: next.replicas), "ISR \(next.isr) outside replicas")
        registration = next
        return true
    }

    /// Kafka's validation of an AlterPartition, in Kafka's order; an ISR equal to the current one is answered with
    /// the current state and no new epoch.
    mutating func alterPartition(_ proposal: AlterPartitionProposal) -> AlterPartitionAnswer {
        let current = registration
        if proposal.leaderEpoch > current.leaderEpoch || proposal.partitionEpoch > current.partitionEpoch {
            return .rejected(.notController)
        }
        if proposal.leaderEpoch < current.leaderEpoch { return .rejected(.fencedLeaderEpoch) }
        if proposal.leader != current.leader { return .rejected(.invalidRequest) }
        if proposal.partitionEpoch < current.partitionEpoch { return .rejected(.invalidUpdateVersion) }
        let isr = proposal.isrIDs
        guard Set(isr).isSubset(of: current.replicas), isr.contains(current.leader) else {
            return .rejected(.invalidRequest)
        }
        let ineligible = proposal.newISR.contains { member in
            fenced.contains(member.brokerID)
                || (member.brokerEpoch != -1 && member.brokerEpoch != brokerEpochs[member.brokerID])
        }
        if ineligible { return .rejected(.ineligibleReplica) }
        if Set(isr) != Set(current.isr) {
            var next = current
            next.isr = current.replicas.filter { isr.contains($0) }
            commit(next)
        }
        return .accepted(
            leaderEpoch: registration.leaderEpoch, partitionEpoch: registration.partitionEpoch, isr: registration.isr)
    }
}
