import FjordRaft
import KafkaProtocol
import NIOCore
import Testing

/// The simulated disk and agenda behave as the simulation's invariants assume: a crash keeps exactly the fsynced
/// prefix plus whole unsynced batches, requests a real log could not honour are refused, events come out in
/// (time, sequence) order.
@Suite struct SimulatedDiskTests {
    private func batch(_ base: Int64, epoch: Int32, count: Int = 1) -> RaftBatch {
        RaftBatch(
            baseOffset: base, epoch: epoch, appendTimeMs: 0,
            records: (0..<count).map { .data(ByteBuffer(string: "r\(base + Int64($0))")) })
    }

    @Test func crashKeepsTheFsyncedPrefixAndWholeUnsyncedBatches() throws {
        // Flow: 1. append 0...1, fsync, append 2...3 and 4; 2. a crash keeping one unsynced batch leaves 0...3;
        // 3. the restart hands the core those batches and the quorum state.
        var disk = SimulatedDisk()
        disk.persist(QuorumState(leaderEpoch: 2, leaderID: 1))
        try disk.append([batch(0, epoch: 1, count: 2)])
        #expect(disk.fsync() == 2)
        try disk.append([batch(2, epoch: 2, count: 2), batch(4, epoch: 2)])
        #expect(disk.durableEndOffset == 2 && disk.endOffset == 5)
        #expect(disk.crash(keptUnsyncedBatches: 1) == 4)
        let persisted = try disk.restart()
        #expect(persisted.log.map(\.baseOffset) == [0, 2])
        #expect(persisted.quorumState == QuorumState(leaderEpoch: 2, leaderID: 1))
        var lost = SimulatedDisk()
        try lost.append([batch(0, epoch: 1)])
        #expect(lost.crash(keptUnsyncedBatches: 0) == 0)
    }

    @Test func impossibleLogRequestsAreRefused() throws {
        // Flow: a gap, an epoch going back, a truncation inside a batch and deleting a prefix no snapshot covers all
        // throw `logContract`.
        var disk = SimulatedDisk()
        try disk.append([batch(0, epoch: 2, count: 3)])
        func refused(_ body: (inout SimulatedDisk) throws(InvariantViolation) -> Void) -> String? {
            do {
                try body(&disk)
                return nil
            } catch {
                return error.invariant
            }
        }
        #expect(refused { disk throws(InvariantViolation) in try disk.append([batch(5, epoch: 2)]) } == "logContract")
        #expect(refused { disk throws(InvariantViolation) in try disk.append([batch(3, epoch: 1)]) } == "logContract")
        #expect(refused { disk throws(InvariantViolation) in try disk.truncate(toEndOffset: 1) } == "logContract")
        #expect(refused { disk throws(InvariantViolation) in try disk.deleteLogPrefix(before: 3) } == "logContract")
        try disk.truncate(toEndOffset: 0)
        #expect(disk.endOffset == 0)
    }

    @Test func snapshotsReplaceTheLogAndSurviveRestarts() throws {
        // Flow: 1. a state machine of 0...2 is snapshotted; 2. installing it empties the log, which restarts at 3;
        // 3. the restart gives the core the snapshot, and the bytes decode to the same entries.
        var machine = SimulatedStateMachine()
        machine.apply(batch(0, epoch: 1, count: 3))
        let snapshot = machine.snapshot()
        #expect(snapshot.id == OffsetAndEpoch(offset: 3, epoch: 1))
        var disk = SimulatedDisk()
        try disk.append([batch(0, epoch: 1)])
        disk.install(snapshot)
        #expect(disk.startOffset == 3 && disk.endOffset == 3 && disk.durableEndOffset == 3)
        let persisted = try disk.restart()
        #expect(persisted.snapshot == snapshot && persisted.log.isEmpty)
        #expect(try SimulatedStateMachine(snapshot: snapshot).entries == machine.entries)
    }

    @Test func eventsComeOutInTimeThenSchedulingOrder() {
        // Flow: events scheduled out of order come out by time, ties in the order they were scheduled; slots freed
        // by popped events are reused without mixing events up.
        var queue = EventQueue()
        for (time, node) in [(5, 3), (1, 1), (5, 4), (3, 2), (1, 11)] {
            queue.schedule(.tick(NodeID(node), incarnation: 0), at: Int64(time))
        }
        var order: [NodeID] = []
        while let (_, event) = queue.pop() {
            guard case .tick(let node, _) = event else { continue }
            order.append(node)
            if node == 2 { queue.schedule(.tick(9, incarnation: 0), at: 4) }
        }
        #expect(order == [1, 11, 2, 9, 3, 4])
    }
}
