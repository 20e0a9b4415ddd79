import FjordRaft
import KafkaProtocol
import Testing

/// Named, deterministic scenarios on the simulated cluster: one fault each, placed at a chosen moment, with every
/// invariant checked after every event as in the seeded runs, plus what the scenario is about (the old leader steps
/// down, the new one commits, the lagging node takes a snapshot).
@Suite struct RaftScenarioTests {
    private func cluster(voters: Int, observers: Int, seed: UInt64 = 7) throws -> RaftSimulation {
        try RaftSimulation(
            seed: seed, parameters: SimulationParameters(voterCount: voters, observerCount: observers), faults: [],
            tracing: false)
    }

    /// Runs until a leader has committed more than `entries` entries; returns the leader and its epoch.
    private func settle(_ simulation: inout RaftSimulation, entries: Int64) throws -> (NodeID, Int32)? {
        let start = simulation.checker.ledger.endOffset
        let settled = try simulation.run(until: simulation.now + simulation.parameters.livenessBoundMs) {
            $0.leader != nil && $0.checker.ledger.endOffset > start + entries
        }
        guard settled, let leader = simulation.leader else { return nil }
        return (leader, simulation.nodes[leader]!.role!.epoch)
    }

    /// Runs until every running node applied everything committed now.
    private func catchUp(_ simulation: inout RaftSimulation, within milliseconds: Int64) throws -> Bool {
        let target = simulation.checker.ledger.endOffset
        return try simulation.run(until: simulation.now + milliseconds) { simulation in
            simulation.nodes.values.allSatisfy { !$0.isUp || $0.stateMachine.appliedEndOffset >= target }
        }
    }

    /// Runs until a leader other than `old`, of a later epoch than `epoch`, committed `entries` new entries.
    private func newLeaderCommits(
        _ simulation: inout RaftSimulation, other old: NodeID, after epoch: Int32, entries: Int64, within: Int64
    ) throws -> Bool {
        let start = simulation.checker.ledger.endOffset
        return try simulation.run(until: simulation.now + within) { simulation in
            guard let leader = simulation.leader, leader != old, simulation.nodes[leader]!.role!.epoch > epoch else {
                return false
            }
            return simulation.checker.ledger.endOffset > start + entries
        }
    }

    @Test func leaderCutOffFromTheVotersButNotTheObserversStepsDownAndANewLeaderCommits() throws {
        // Flow: 1. 3 voters and an observer elect a leader and commit; 2. the leader is cut off from the other voters
        // only (the observer still fetches from it); 3. check-quorum makes it stop leading within 1.5 fetch
        // timeouts (plus ticks), though the observer keeps fetching; 4. the other voters elect a leader of a later
        // epoch that commits; 5. after healing, every node catches up (the old leader truncates what it alone had).
        var simulation = try cluster(voters: 3, observers: 1)
        let (old, epoch) = try #require(try settle(&simulation, entries: 5))
        try simulation.apply(.isolateLeader(keepObservers: true))
        let fetchTimeout = simulation.parameters.fetchTimeoutMs
        #expect(try simulation.run(until: simulation.now + 2 * fetchTimeout) { $0.nodes[old]!.role!.name != .leader })
        #expect(
            try newLeaderCommits(
                &simulation, other: old, after: epoch, entries: 3, within: simulation.parameters.livenessBoundMs))
        try simulation.apply(.healNetwork)
        #expect(try catchUp(&simulation, within: simulation.parameters.catchUpMs))
    }

    @Test func followerThatLostItsLogCatchesUpThroughASnapshot() throws {
        // Flow: 1. 3 voters commit; 2. a follower crashes (its unsynced tail is lost); 3. the others commit and
        // snapshot until the leader's log starts after the follower's end; 4. the follower restarts and, since the
        // leader no longer has the batches it needs, installs the leader's snapshot (FetchSnapshot) and catches up.
        var simulation = try cluster(voters: 3, observers: 1)
        let (leader, _) = try #require(try settle(&simulation, entries: 5))
        let follower = simulation.parameters.voterIDs.first { $0 != leader }!
        try simulation.apply(.crash(follower))
        let behind = try simulation.run(until: simulation.now + 5_000) { simulation in
            guard let leader = simulation.leader else { return false }
            return simulation.nodes[leader]!.disk.startOffset > simulation.nodes[follower]!.disk.endOffset
        }
        #expect(behind)
        try simulation.apply(.restart(follower))
        #expect(try catchUp(&simulation, within: simulation.parameters.catchUpMs))
        #expect(simulation.nodes[follower]!.snapshotsInstalled > 0)
    }

    @Test func allVotersCrashAndAMajorityComesBackWithEverythingCommitted() throws {
        // Flow: 1. 5 voters commit; 2. every voter crashes (unsynced tails lost); 3. three restart: they elect a
        // leader and commit again (every committed entry survived: the invariants check each one); 4. the last two
        // restart and catch up.
        var simulation = try cluster(voters: 5, observers: 1)
        let (_, epoch) = try #require(try settle(&simulation, entries: 10))
        for id in simulation.parameters.voterIDs { try simulation.apply(.crash(id)) }
        for id in simulation.parameters.voterIDs.prefix(3) { try simulation.apply(.restart(id)) }
        #expect(
            try newLeaderCommits(
                &simulation, other: -1, after: epoch, entries: 3, within: simulation.parameters.livenessBoundMs))
        try simulation.apply(.restartAll)
        #expect(try catchUp(&simulation, within: simulation.parameters.catchUpMs))
    }

    @Test func gracefulResignationHandsOverFasterThanAFetchTimeout() throws {
        // Flow: 1. 3 voters commit; 2. the leader resigns (EndQuorumEpoch) and shuts down; 3. a successor of a later
        // epoch leads before a follower could have noticed a silent leader (the fetch timeout), and commits.
        var simulation = try cluster(voters: 3, observers: 1)
        let (old, epoch) = try #require(try settle(&simulation, entries: 5))
        let resignedAt = simulation.now
        try simulation.apply(.resignLeader)
        let successor = try simulation.run(until: resignedAt + 2 * simulation.parameters.livenessBoundMs) {
            simulation in
            guard let leader = simulation.leader, leader != old else { return false }
            return simulation.nodes[leader]!.role!.epoch > epoch
        }
        #expect(successor)
        #expect(simulation.now - resignedAt < simulation.parameters.fetchTimeoutMs)
        #expect(try newLeaderCommits(&simulation, other: old, after: epoch, entries: 3, within: 1_000))
    }

    @Test func leaderThatCannotHearItsFollowersIsReplaced() throws {
        // Flow: 1. 3 voters commit; 2. the followers' messages no longer reach the leader (it still reaches them);
        // 3. their fetches time out, they elect a new leader among themselves, which commits; the old leader steps
        // down; 4. after healing, everyone catches up.
        var simulation = try cluster(voters: 3, observers: 1)
        let (old, epoch) = try #require(try settle(&simulation, entries: 5))
        let links = simulation.parameters.nodeIDs.filter { $0 != old }.map { SimulatedNetwork.Link(from: $0, to: old) }
        try simulation.apply(.cutOneWay(links))
        #expect(
            try newLeaderCommits(
                &simulation, other: old, after: epoch, entries: 3, within: simulation.parameters.livenessBoundMs))
        #expect(
            try simulation.run(until: simulation.now + 2 * simulation.parameters.fetchTimeoutMs) {
                $0.nodes[old]!.role!.name != .leader
            })
        try simulation.apply(.healNetwork)
        #expect(try catchUp(&simulation, within: simulation.parameters.catchUpMs))
    }

    @Test func minorityPartitionCannotCommitWhileTheMajorityMovesOn() throws {
        // Flow: 1. 5 voters commit; 2. the leader and one follower are split from the other three; 3. the three
        // elect a leader and commit past what the two reached, whose high watermarks stay put; 4. after healing,
        // the minority truncates its uncommitted tail and catches up.
        var simulation = try cluster(voters: 5, observers: 0)
        let (old, epoch) = try #require(try settle(&simulation, entries: 10))
        let minority = [old, simulation.parameters.voterIDs.first { $0 != old }!]
        let majority = simulation.parameters.voterIDs.filter { !minority.contains($0) }
        try simulation.apply(.partition(minority, majority))
        try simulation.run(until: simulation.now + 50)
        let minorityHighWatermark = minority.compactMap { simulation.nodes[$0]!.raft!.highWatermark }.max() ?? 0
        #expect(
            try newLeaderCommits(
                &simulation, other: old, after: epoch, entries: 10, within: simulation.parameters.livenessBoundMs))
        #expect(minority.compactMap { simulation.nodes[$0]!.raft!.highWatermark }.max() ?? 0 == minorityHighWatermark)
        #expect(simulation.checker.ledger.endOffset > minorityHighWatermark)
        try simulation.apply(.healNetwork)
        #expect(try catchUp(&simulation, within: simulation.parameters.catchUpMs))
    }

    @Test func aNodeThatNeverCatchesUpFailsTheEndOfRunCheck() throws {
        // Flow (the catch-up invariant can fail): 1. 3 voters and an observer commit; 2. the observer is cut off for
        // good; 3. the end-of-run check, told what was committed, names `everyReplicaCatchesUp`.
        var simulation = try cluster(voters: 3, observers: 1)
        _ = try #require(try settle(&simulation, entries: 5))
        try simulation.apply(.partition([101], simulation.parameters.voterIDs))
        try simulation.run(until: simulation.now + 500)
        simulation.catchUpTarget = simulation.checker.ledger.endOffset
        #expect(throws: InvariantViolation.self) { try simulation.checkAtEnd() }
    }

    @Test func disksWhoseFsyncLiesAreCaughtWhenAMajorityCrashes() throws {
        // Flow (the simulation catches a broken driver, not only a broken checker): 1. every disk acknowledges fsyncs
        // that a crash then loses; 2. a leader commits; 3. two of the three voters crash: the committed entries are
        // no longer durable on a majority, and the run stops with `committedDurable`.
        var parameters = SimulationParameters(voterCount: 3, observerCount: 1)
        parameters.fsyncIsHonest = false
        var simulation = try RaftSimulation(seed: 7, parameters: parameters, faults: [], tracing: false)
        let leader = try #require(try settle(&simulation, entries: 5)).0
        do {
            try simulation.apply(.crash(leader))
            try simulation.apply(.crash(parameters.voterIDs.first { $0 != leader }!))
            try simulation.run(until: simulation.now + 1)
            Issue.record("a majority crashed on lying disks without a violation")
        } catch {
            #expect(error.invariant == "committedDurable")
        }
    }
}
