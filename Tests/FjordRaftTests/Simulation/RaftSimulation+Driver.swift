import FjordRaft
import KafkaProtocol
import NIOCore

/// The simulated driver: starts and stops processes and carries out a node's outputs in order, exactly as the real
/// Raft driver will.
extension RaftSimulation {
    /// Starts a process of `id` from what its disk holds durably (empty at the first start).
    mutating func start(_ id: NodeID) throws(InvariantViolation) {
        var node = nodes[id]!
        precondition(!node.isUp)
        let persisted = try node.disk.restart()
        checker.logRewound(of: id, to: node.disk.startOffset)
        if let snapshot = persisted.snapshot {
            node.stateMachine = try checker.checkSnapshot(snapshot, installedOn: id, role: nil, replacing: nil)
        } else {
            node.stateMachine = SimulatedStateMachine()
        }
        checker.nodeRestarted(id, snapshotEnd: persisted.snapshot?.id.offset ?? 0)
        node.raft = RaftNode(
            configuration: parameters.configuration(of: id), persisted: persisted, randomSeed: generator.next(),
            now: now)
        nodes[id] = node
        durableChanges += 1
        record(
            "start node \(id) (incarnation \(node.incarnation)): \(persisted.log.count) batches after snapshot "
                + "\(persisted.snapshot.map { "\($0.id)" } ?? "none"), "
                + (persisted.quorumState.map { "\($0)" } ?? "no quorum state"),
            milestone: true)
        scheduleTick(id)
        queue.schedule(
            .takeSnapshot(id, incarnation: node.incarnation), at: now + draw(parameters.snapshotIntervalMs))
        try checkNode(id)
    }

    /// The process dies: the core and the unsynced tail of the log are gone (a random prefix of the tail survives).
    mutating func crash(_ id: NodeID) {
        guard nodes[id]!.isUp else { return }
        let unsynced = nodes[id]!.disk.batches.filter { $0.baseOffset >= nodes[id]!.disk.durableEndOffset }.count
        let kept = parameters.fsyncIsHonest ? generator.next(below: unsynced + 1) : 0
        let end = nodes[id]!.disk.crash(keptUnsyncedBatches: kept)
        checker.logRewound(of: id, to: end)
        nodes[id]!.raft = nil
        nodes[id]!.incarnation += 1
        nodes[id]!.fsyncScheduled = false
        statistics.crashes += 1
        durableChanges += 1
        record("crash node \(id): kept \(kept) of \(unsynced) unsynced batches, log ends at \(end)", milestone: true)
    }

    mutating func restart(_ id: NodeID) throws(InvariantViolation) {
        guard !nodes[id]!.isUp else { return }
        statistics.restarts += 1
        try start(id)
    }

    /// Feeds one input to a running node and carries out its outputs.
    mutating func step(_ id: NodeID, _ input: RaftInput) throws(InvariantViolation) {
        let outputs = nodes[id]!.raft!.step(input)
        try carryOut(outputs, of: id)
        try checkNode(id)
    }

    private mutating func carryOut(_ outputs: [RaftOutput], of id: NodeID) throws(InvariantViolation) {
        for output in outputs {
            switch output {
            case .persistQuorumState(let state):
                nodes[id]!.disk.persist(state)
                try checker.observePersisted(state, of: id)
            case .appendLog(let batches):
                try nodes[id]!.disk.append(batches)
                scheduleFsync(id)
            case .truncateLog(let offset):
                try checker.checkTruncation(of: id, toEndOffset: offset, disk: nodes[id]!.disk)
                try nodes[id]!.disk.truncate(toEndOffset: offset)
                checker.logRewound(of: id, to: offset)
                statistics.truncations += 1
                durableChanges += 1
                record("node \(id) truncates to \(offset)", milestone: true)
            case .installSnapshot(let snapshot):
                try install(snapshot, on: id)
            case .deleteLogPrefix(let offset):
                try nodes[id]!.disk.deleteLogPrefix(before: offset)
                durableChanges += 1
            case .send(let message, let to):
                send(message, from: id, to: to)
            case .commit(let highWatermark, let batches):
                try checker.checkCommit(
                    of: id, highWatermark: highWatermark, batches: batches, stateMachine: nodes[id]!.stateMachine)
                for batch in batches { nodes[id]!.stateMachine.apply(batch) }
                statistics.batchesApplied += batches.count
            case .roleChanged(let role):
                try checker.observeRole(of: id, role)
                record("node \(id) is now \(role)", milestone: true)
                if role.name == .leader { statistics.leaderEpochs += 1 }
            }
        }
    }

    private mutating func install(_ snapshot: RaftSnapshot, on id: NodeID) throws(InvariantViolation) {
        let node = nodes[id]!
        let restored = try checker.checkSnapshot(
            snapshot, installedOn: id, role: node.role, replacing: node.stateMachine)
        nodes[id]!.disk.install(snapshot)
        nodes[id]!.stateMachine = restored
        nodes[id]!.snapshotsInstalled += 1
        durableChanges += 1
        checker.logRewound(of: id, to: snapshot.id.offset)
        statistics.snapshotsInstalled += 1
        record("node \(id) installs snapshot \(snapshot.id)", milestone: true)
    }

    private mutating func send(_ message: RaftMessage, from: NodeID, to: NodeID) {
        statistics.messagesSent += 1
        guard nodes[to] != nil else { return }
        for delay in network.deliveryDelays(from: from, to: to, using: &generator) {
            queue.schedule(.deliver(message, from: from, to: to), at: now + delay)
        }
    }

    private mutating func scheduleFsync(_ id: NodeID) {
        guard !nodes[id]!.fsyncScheduled else { return }
        nodes[id]!.fsyncScheduled = true
        queue.schedule(
            .fsyncCompleted(id, incarnation: nodes[id]!.incarnation), at: now + draw(parameters.fsyncDelayMs))
    }

    /// The simulated fsync completes: the log is durable up to its end, which the core is told.
    mutating func completeFsync(_ id: NodeID) throws(InvariantViolation) {
        nodes[id]!.fsyncScheduled = false
        let end = nodes[id]!.disk.fsync(honest: parameters.fsyncIsHonest)
        durableChanges += 1
        record("node \(id) fsynced through \(end)")
        try step(id, .persisted(through: end))
        if nodes[id]!.isUp, nodes[id]!.disk.hasUnsyncedBatches { scheduleFsync(id) }
    }

    /// The driver snapshots its state machine when it applied something since the latest snapshot.
    mutating func takeSnapshot(_ id: NodeID) throws(InvariantViolation) {
        let node = nodes[id]!
        guard node.stateMachine.appliedEndOffset > node.disk.snapshotEndOffset else { return }
        let snapshot = node.stateMachine.snapshot()
        nodes[id]!.disk.write(snapshot)
        durableChanges += 1
        statistics.snapshotsTaken += 1
        record("node \(id) takes snapshot \(snapshot.id)")
        try step(id, .snapshotTaken(snapshot))
    }

    /// Clients propose one to three records to every node that believes it leads. As the broker's RaftDriver does,
    /// an accepted proposal is followed at once by a tick at the same time, whose step returns its `.appendLog`.
    mutating func proposeToLeaders() throws(InvariantViolation) {
        for id in parameters.nodeIDs where nodes[id]!.isLeader {
            let count = 1 + generator.next(below: 3)
            var records: [ByteBuffer] = []
            for _ in 0..<count {
                let payload = ClientPayload(
                    sequence: nextProposalSequence, proposer: id, fillerLength: generator.next(below: 200))
                liveness.proposed(nextProposalSequence, at: now)
                nextProposalSequence += 1
                records.append(payload.bytes(using: &generator))
            }
            let result = nodes[id]!.raft!.propose(records, now: now)
            record("propose \(count) records to node \(id): \(result)")
            if case .accepted = result {
                statistics.proposalsAccepted += 1
                try step(id, .tick(now: now))
            }
        }
    }
}
