import FjordRaft
import FjordTestSupport
import KafkaProtocol
import NIOCore
import Testing

/// Proof that each invariant of the simulation can fail: the checker is fed a history that breaks it and must name
/// the broken invariant (and accepts the legal history next to it).
@Suite struct InvariantCheckerTests {
    private let voters: [NodeID] = [1, 2, 3]

    private func checker() -> InvariantChecker { InvariantChecker(voters: voters, observers: [101]) }

    private func batch(_ base: Int64, epoch: Int32, _ payloads: String...) -> RaftBatch {
        RaftBatch(
            baseOffset: base, epoch: epoch, appendTimeMs: 0, records: payloads.map { .data(ByteBuffer(string: $0)) })
    }

    private func role(_ name: RaftRoleSummary.Name, epoch: Int32, leader: NodeID? = nil) -> RaftRoleSummary {
        RaftRoleSummary(name: name, epoch: epoch, leaderID: leader, votedKey: nil)
    }

    /// The invariant `body` broke, nil if it passed.
    private func violated(_ body: () throws(InvariantViolation) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.invariant
        }
    }

    private func disk(_ batches: [RaftBatch], synced: Bool) -> SimulatedDisk {
        var disk = SimulatedDisk()
        try! disk.append(batches)
        if synced { _ = disk.fsync() }
        return disk
    }

    @Test func twoLeadersInOneEpochAreCaught() {
        // Flow: 1. node 1 leads epoch 3; 2. node 2 claims epoch 3 too, or a follower names node 2 for it: violation;
        // 3. node 2 leading epoch 4 is fine.
        var c = checker()
        #expect(violated { () throws(InvariantViolation) in try c.observeRole(of: 1, role(.leader, epoch: 3)) } == nil)
        #expect(
            violated { () throws(InvariantViolation) in try c.observeRole(of: 2, role(.leader, epoch: 3)) }
                == "singleLeaderPerEpoch")
        #expect(
            violated { () throws(InvariantViolation) in
                try c.observeRole(of: 3, role(.follower, epoch: 3, leader: 2))
            } == "singleLeaderPerEpoch")
        #expect(
            violated { () throws(InvariantViolation) in
                try c.observePersisted(QuorumState(leaderEpoch: 3, leaderID: 2), of: 3)
            } == "singleLeaderPerEpoch")
        #expect(violated { () throws(InvariantViolation) in try c.observeRole(of: 2, role(.leader, epoch: 4)) } == nil)
    }

    @Test func persistedEpochGoingBackAndSecondVotesAreCaught() {
        // Flow: 1. node 1 votes for 2 in epoch 5; 2. a vote for 3 in epoch 5 is a second vote; 3. epoch 4 after 5
        // goes back; 4. a vote for 3 in epoch 6 is fine.
        var c = checker()
        let vote2 = ReplicaKey(id: 2)
        let vote3 = ReplicaKey(id: 3)
        #expect(
            violated { () throws(InvariantViolation) in
                try c.observePersisted(QuorumState(leaderEpoch: 5, votedKey: vote2), of: 1)
            } == nil)
        #expect(
            violated { () throws(InvariantViolation) in
                try c.observePersisted(QuorumState(leaderEpoch: 5, votedKey: vote3), of: 1)
            } == "oneVotePerEpoch")
        #expect(
            violated { () throws(InvariantViolation) in
                try c.observePersisted(QuorumState(leaderEpoch: 4), of: 1)
            } == "epochMonotonic")
        #expect(
            violated { () throws(InvariantViolation) in
                try c.observePersisted(QuorumState(leaderEpoch: 6, votedKey: vote3), of: 1)
            } == nil)
    }

    @Test func highWatermarkGoingBackIsCaught() {
        // Flow: 1. 10 then 9 goes back; 2. known then unknown is caught; 3. after a restart from a snapshot ending at
        // 20, unknown is fine, 25 is fine, but a fresh incarnation learning 15 is caught.
        var c = checker()
        try! c.observeHighWatermark(10, of: 1)
        #expect(
            violated { () throws(InvariantViolation) in try c.observeHighWatermark(9, of: 1) }
                == "highWatermarkMonotonic")
        #expect(
            violated { () throws(InvariantViolation) in try c.observeHighWatermark(nil, of: 1) }
                == "highWatermarkMonotonic")
        c.nodeRestarted(1, snapshotEnd: 20)
        #expect(violated { () throws(InvariantViolation) in try c.observeHighWatermark(nil, of: 1) } == nil)
        #expect(violated { () throws(InvariantViolation) in try c.observeHighWatermark(25, of: 1) } == nil)
        c.nodeRestarted(1, snapshotEnd: 20)
        #expect(
            violated { () throws(InvariantViolation) in try c.observeHighWatermark(15, of: 1) }
                == "highWatermarkMonotonic")
    }

    @Test func divergingCommittedEntriesAreCaught() {
        // Flow: 1. node 1 commits "a" at 0; 2. node 2 holds "b" at 0 above its high watermark: fine (uncommitted
        // tail); 3. once node 2's high watermark passes 0, its "b" contradicts the committed "a".
        var c = checker()
        try! c.observeHighWatermark(1, of: 1)
        try! c.verifyLog(of: 1, disk: disk([batch(0, epoch: 1, "a")], synced: true))
        let other = disk([batch(0, epoch: 1, "b")], synced: true)
        #expect(violated { () throws(InvariantViolation) in try c.verifyLog(of: 2, disk: other) } == nil)
        try! c.observeHighWatermark(1, of: 2)
        #expect(violated { () throws(InvariantViolation) in try c.verifyLog(of: 2, disk: other) } == "committedPrefix")
    }

    @Test func truncatingACommittedEntryIsCaught() {
        // Flow: node 1's high watermark is 2 over a log of 3: truncating to 2 is fine, to 1 drops a committed entry.
        var c = checker()
        let log = disk([batch(0, epoch: 1, "a"), batch(1, epoch: 1, "b"), batch(2, epoch: 1, "c")], synced: true)
        try! c.observeHighWatermark(2, of: 1)
        #expect(
            violated { () throws(InvariantViolation) in try c.checkTruncation(of: 1, toEndOffset: 2, disk: log) }
                == nil)
        #expect(
            violated { () throws(InvariantViolation) in try c.checkTruncation(of: 1, toEndOffset: 1, disk: log) }
                == "committedNeverTruncated")
    }

    @Test func committingWhatAMajorityHasNotFsyncedIsCaught() {
        // Flow: 1. the leader (1) has "a" fsynced and its high watermark passes it; 2. node 2 holds "a" unsynced
        // only, node 3 nothing: violation; 3. once node 2 fsyncs, a majority holds it.
        var c = checker()
        let leaderDisk = disk([batch(0, epoch: 1, "a")], synced: true)
        try! c.observeHighWatermark(1, of: 1)
        try! c.verifyLog(of: 1, disk: leaderDisk)
        var disks: [NodeID: SimulatedDisk] = [
            1: leaderDisk, 2: disk([batch(0, epoch: 1, "a")], synced: false), 3: SimulatedDisk(), 101: SimulatedDisk(),
        ]
        #expect(
            violated { () throws(InvariantViolation) in try c.checkCommittedDurable { disks[$0]! } }
                == "committedDurable")
        _ = disks[2]!.fsync()
        #expect(violated { () throws(InvariantViolation) in try c.checkCommittedDurable { disks[$0]! } } == nil)
    }

    @Test func stateMachineAppliesEachBatchOnceInOrder() {
        // Flow: 1. applying 0...1 with high watermark 2 is fine; 2. 0 again, a gap (3) and a batch above the high
        // watermark are each caught.
        var c = checker()
        var machine = SimulatedStateMachine()
        let first = batch(0, epoch: 1, "a", "b")
        try! c.checkCommit(of: 1, highWatermark: 2, batches: [first], stateMachine: machine)
        machine.apply(first)
        #expect(
            violated { () throws(InvariantViolation) in
                try c.checkCommit(of: 1, highWatermark: 3, batches: [batch(0, epoch: 1, "a")], stateMachine: machine)
            } == "stateMachineExactlyOnce")
        #expect(
            violated { () throws(InvariantViolation) in
                try c.checkCommit(of: 1, highWatermark: 4, batches: [batch(3, epoch: 1, "d")], stateMachine: machine)
            } == "stateMachineExactlyOnce")
        #expect(
            violated { () throws(InvariantViolation) in
                try c.checkCommit(
                    of: 1, highWatermark: 4, batches: [batch(2, epoch: 1, "c", "d", "e")], stateMachine: machine)
            } == "stateMachineExactlyOnce")
    }

    @Test func badSnapshotsAreCaught() {
        // Flow: 1. "a","b" are committed; 2. a snapshot of them installs on a follower; 3. the same snapshot on a
        // leader, one beyond the committed end, one with torn bytes, one with a different entry, and one older than
        // the state machine are each caught.
        var c = checker()
        var machine = SimulatedStateMachine()
        machine.apply(batch(0, epoch: 1, "a", "b"))
        try! c.checkCommit(
            of: 1, highWatermark: 2, batches: [batch(0, epoch: 1, "a", "b")], stateMachine: SimulatedStateMachine())
        let good = machine.snapshot()
        func install(_ snapshot: RaftSnapshot, _ name: RaftRoleSummary.Name, over: SimulatedStateMachine?) -> String? {
            violated { () throws(InvariantViolation) in
                _ = try c.checkSnapshot(snapshot, installedOn: 2, role: role(name, epoch: 1), replacing: over)
            }
        }
        #expect(install(good, .follower, over: SimulatedStateMachine()) == nil)
        #expect(install(good, .leader, over: SimulatedStateMachine()) == "snapshotCommitted")
        var beyond = machine
        beyond.apply(batch(2, epoch: 1, "c"))
        #expect(install(beyond.snapshot(), .follower, over: nil) == "snapshotCommitted")
        var torn = good
        torn.bytes = torn.bytes.getSlice(at: 0, length: torn.bytes.readableBytes - 1)!
        #expect(install(torn, .follower, over: nil) == "snapshotIntact")
        var other = SimulatedStateMachine()
        other.apply(batch(0, epoch: 1, "a", "x"))
        #expect(install(other.snapshot(), .follower, over: nil) == "committedPrefix")
        var ahead = SimulatedStateMachine()
        ahead.apply(batch(0, epoch: 1, "a", "b"))
        ahead.apply(batch(2, epoch: 1, "c"))
        #expect(install(good, .follower, over: ahead) == "snapshotCommitted")
    }

    @Test func coreDisagreeingWithItsDiskIsCaught() {
        // Flow: the disk holds 0...1 with 0 fsynced; the core claiming end 3, or persisted up to 2, is caught.
        let c = checker()
        var log = disk([batch(0, epoch: 1, "a")], synced: true)
        try! log.append([batch(1, epoch: 1, "b")])
        #expect(
            violated { () throws(InvariantViolation) in
                try c.checkCoreMatchesDisk(of: 1, logEndOffset: 2, persistedEndOffset: 1, disk: log)
            } == nil)
        #expect(
            violated { () throws(InvariantViolation) in
                try c.checkCoreMatchesDisk(of: 1, logEndOffset: 3, persistedEndOffset: 1, disk: log)
            } == "coreMatchesDisk")
        #expect(
            violated { () throws(InvariantViolation) in
                try c.checkCoreMatchesDisk(of: 1, logEndOffset: 2, persistedEndOffset: 2, disk: log)
            } == "coreMatchesDisk")
    }

    @Test func noProgressUnderAHealthyMajorityIsCaught() {
        // Flow: 1. voters 1, 2 form a healthy majority at 0 ms with a bound of 100 ms; 2. a proposal made at 10 ms
        // commits at 50 ms: progress; 3. nothing more commits: fine at 150 ms, a violation at 151 ms; 4. without a
        // healthy majority nothing is required.
        var monitor = LivenessMonitor(boundMs: 100)
        monitor.update(healthyMajority: [1, 2], now: 0)
        monitor.proposed(7, at: 10)
        var generator = SeededGenerator(seed: 1)
        let payload = ClientPayload(sequence: 7, proposer: 1, fillerLength: 3).bytes(using: &generator)
        monitor.committed(LogEntry(epoch: 1, record: .data(payload)), now: 50)
        #expect(monitor.progressChecks == 1)
        #expect(violated { () throws(InvariantViolation) in try monitor.check(now: 150) { "" } } == nil)
        #expect(
            violated { () throws(InvariantViolation) in try monitor.check(now: 151) { "" } }
                == "livenessUnderHealthyMajority")
        monitor.update(healthyMajority: nil, now: 151)
        #expect(violated { () throws(InvariantViolation) in try monitor.check(now: 1000) { "" } } == nil)
    }
}
