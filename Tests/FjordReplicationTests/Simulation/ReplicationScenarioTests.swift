import FjordReplication
import KafkaProtocol
import Testing

/// Named scenarios: one fault each, on a fixed seed, with the invariants checked after every event as in the
/// seeded runs, and the outcome the scenario is about checked at the end.
@Suite struct ReplicationScenarioTests {
    static func simulation(seed: UInt64 = 11, replicas: Int = 3, minISR: Int = 2) throws(InvariantViolation)
        -> ReplicationSimulation
    {
        var parameters = SimulationParameters(replicaCount: replicas, minInsyncReplicas: minISR)
        parameters.faultyDurationMs = 1_200  // the scripted faults end by then; the healthy phase follows
        return try ReplicationSimulation(seed: seed, parameters: parameters, faults: [], tracing: false)
    }

    @Test func anIsolatedLeaderTruncatesWhatOnlyItWrote() throws {
        // Flow: 1. 3 replicas produce for 300 ms; 2. the leader is cut off from everyone but its clients: the
        // controller fences it and elects another, producers with stale metadata still write acks=1 records to it;
        // 3. healed, it follows the new leader and truncates its divergent suffix; 4. everything converges and every
        // acks=all record is kept.
        var simulation = try Self.simulation()
        try simulation.run(until: 300)
        let oldLeader = simulation.controller.registration.leader
        try simulation.apply(.isolate(oldLeader))
        try simulation.run(until: 700)
        #expect(simulation.controller.registration.leader != oldLeader)
        try simulation.apply(.healNetwork)
        try simulation.runToEnd()
        #expect(simulation.statistics.truncations >= 1)
        #expect(simulation.statistics.recordsAcknowledgedAll > 0)
    }

    @Test func aLaggingFollowerLeavesTheISRAndRejoins() throws {
        // Flow: 1. follower 3 fetches only every 150-400 ms: it leaves the ISR after replica.lag.time.max.ms while
        // acks=all keeps succeeding with the other two (min.insync.replicas 2); 2. back to normal: it rejoins.
        var simulation = try Self.simulation(seed: 12)
        try simulation.run(until: 200)
        let follower = simulation.parameters.replicaIDs.first { $0 != simulation.controller.registration.leader }!
        try simulation.apply(.slowFollower(follower))
        try simulation.run(until: 900)
        #expect(!simulation.controller.registration.isr.contains(follower))
        let acknowledged = simulation.statistics.recordsAcknowledgedAll
        try simulation.run(until: 1_200)
        #expect(simulation.statistics.recordsAcknowledgedAll > acknowledged)
        try simulation.apply(.healNetwork)
        try simulation.runToEnd()
        #expect(simulation.controller.registration.isr.contains(follower))
    }

    @Test func everyISRMemberLosingPowerLeavesThePartitionOffline() throws {
        // Flow: 1. every replica loses power at once (unflushed tails gone); 2. they restart: each tells the
        // controller it lost data and leaves the ISR; with unclean election off the partition stays offline — no
        // replica that may lack acknowledged records is elected.
        var simulation = try Self.simulation(seed: 13)
        try simulation.run(until: 300)
        for id in simulation.parameters.replicaIDs { try simulation.apply(.crash(id, powerLoss: true)) }
        try simulation.run(until: 500)
        try simulation.apply(.restartAll)
        try simulation.runToEnd()
        #expect(simulation.controller.isOfflineForGood)
        #expect(simulation.controller.registration.leader == -1)
    }

    @Test func aLeaderKilledWithoutPowerLossLosesNothing() throws {
        // Flow: 1. 5 replicas, min.insync.replicas 3; 2. the leader's process is killed (its page cache survives) and
        // restarts 200 ms later; 3. a new leader from the ISR takes over, the old one rejoins as a follower.
        var simulation = try Self.simulation(seed: 14, replicas: 5, minISR: 3)
        try simulation.run(until: 300)
        let oldLeader = simulation.controller.registration.leader
        try simulation.apply(.crash(oldLeader, powerLoss: false))
        try simulation.run(until: 500)
        try simulation.apply(.restart(oldLeader))
        try simulation.runToEnd()
        #expect(simulation.controller.registration.leader != oldLeader)
        #expect(simulation.controller.registration.leaderEpoch >= 1)
        #expect(Set(simulation.controller.registration.isr) == Set(simulation.parameters.replicaIDs))
    }
}
