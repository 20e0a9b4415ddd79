import FjordRaft
import FjordStorage
import KafkaProtocol
import NIOCore

/// Carrying out the core's outputs, in the order it gave them (docs/ARCHITECTURE.md, "The metadata quorum in the
/// broker"). Runs on the driver's disk thread only.
extension RaftDriver {
    /// Steps the core with `input` and carries out everything that follows from it: the outputs in order; then, if
    /// the log grew, an fsync and `.persisted(through:)` (whose outputs are carried out in turn); then a snapshot
    /// when enough was committed since the last one.
    func feed(_ input: RaftInput, into state: inout RaftDriverState) throws {
        var outputs = state.node.step(input)
        while true {
            var appended = false
            for output in outputs {
                try carryOut(output, appended: &appended, into: &state)
            }
            if appended {
                let end = try store.flush()
                state.reportedPersistedEnd = end
                outputs = state.node.step(.persisted(through: end))
                continue
            }
            if let snapshot = try takeSnapshotIfDue(&state) {
                outputs = state.node.step(.snapshotTaken(snapshot))
                continue
            }
            return
        }
    }

    private func carryOut(_ output: RaftOutput, appended: inout Bool, into state: inout RaftDriverState) throws {
        switch output {
        case .persistQuorumState(let quorumState):
            // Durable before any later output: a granted vote or a new epoch must survive a crash before it is told.
            try store.writeQuorumState(quorumState)
        case .appendLog(let batches):
            try store.append(batches)
            appended = true
            if state.node.role.name == .leader {
                let now = Self.monotonicMicroseconds()
                for batch in batches { state.commitLatency.appended(lastOffset: batch.lastOffset, now: now) }
            }
        case .truncateLog(let end):
            try store.truncate(toEndOffset: end)
            state.reportedPersistedEnd = min(state.reportedPersistedEnd, end)
            state.commitLatency.truncated(toEndOffset: end)
            failProposals(atOrAfter: end, "the metadata log was truncated", &state)
        case .installSnapshot(let snapshot):
            try install(snapshot, &state)
        case .deleteLogPrefix(let offset):
            try store.deletePrefix(before: offset)
        case .send(let message, let destination):
            send(message, to: destination, &state)
        case .commit(let highWatermark, let batches):
            state.commitLatency.committed(highWatermark: highWatermark, now: Self.monotonicMicroseconds())
            try apply(batches, highWatermark: highWatermark, &state)
        case .roleChanged(let role):
            logger.info("metadata quorum role", metadata: ["role": "\(role)"])
            state.commitLatency.forgetPending()
            if role.name != .leader {
                failProposals(atOrAfter: 0, "not the active controller any more (\(role))", &state)
            }
        }
    }

    /// Requests go to the peer; answers go back on the connection their request came from.
    private func send(_ message: RaftMessage, to destination: NodeID, _ state: inout RaftDriverState) {
        guard message.isRequest else {
            guard let entry = state.inbound.removeValue(forKey: message.correlationID) else { return }
            entry.reply.succeed(message.withCorrelationID(entry.originalCorrelationID))
            return
        }
        peers.send(
            message, to: destination,
            deliver: { [weak self] response, sender in self?.enqueue(.response(response, from: sender)) },
            failed: { [weak self] node, correlationID in
                self?.enqueue(.requestFailed(to: node, correlationID: correlationID))
            })
    }

    /// Applies committed batches to the state machine, answers the proposals they complete, and counts what a
    /// snapshot would cover.
    private func apply(_ batches: [RaftBatch], highWatermark: Int64, _ state: inout RaftDriverState) throws {
        var records = [ByteBuffer]()
        var offsets = [Int64]()
        for batch in batches {
            for (index, record) in batch.records.enumerated() {
                switch record {
                case .data(let value):
                    records.append(value)
                    offsets.append(batch.baseOffset + Int64(index))
                    state.bytesSinceSnapshot += Int64(value.readableBytes)
                case .voters(let voters):
                    state.voters = voters
                case .kraftVersion(let version):
                    state.kraftVersion = version
                case .leaderChange:
                    break
                }
            }
            state.lastCommittedEpoch = batch.epoch
            state.lastCommittedAppendTime = batch.appendTimeMs
        }
        if !records.isEmpty { try stateMachine.applyCommitted(records, offsets: offsets) }
        // A proposal is answered once its batch — the one of its epoch ending at its offset — is applied.
        for batch in batches {
            guard let proposal = state.proposals.removeValue(forKey: batch.lastOffset) else { continue }
            if proposal.epoch == batch.epoch {
                proposal.reply.succeed(proposal.lastOffset)
            } else {
                proposal.reply.fail(
                    RaftDriverError(.notController, "the proposal was replaced by the leader of epoch \(batch.epoch)"))
            }
        }
        failProposals(below: state.node.committedEndOffset, &state)
    }

    private func install(_ snapshot: RaftSnapshot, _ state: inout RaftDriverState) throws {
        let checkpoint = try store.install(snapshot, now: Self.monotonicMilliseconds())
        try stateMachine.replace(withSnapshot: checkpoint.records, endOffset: snapshot.id.offset)
        state.reportedPersistedEnd = snapshot.id.offset
        state.bytesSinceSnapshot = 0
        state.lastCommittedEpoch = snapshot.id.epoch
        state.lastCommittedAppendTime = checkpoint.lastContainedLogTimestamp
        if let voters = snapshot.voters ?? checkpoint.voters {
            state.voters = voters
            state.kraftVersion = checkpoint.kraftVersion ?? KRaftVersionRecord(version: 0, kRaftVersion: 1)
        }
        logger.info("installed the leader's metadata snapshot", metadata: ["snapshot": "\(snapshot.id)"])
    }

    /// Writes a snapshot of the applied state once `snapshotMaxNewRecordBytes` were committed since the last one.
    private func takeSnapshotIfDue(_ state: inout RaftDriverState) throws -> RaftSnapshot? {
        guard state.bytesSinceSnapshot >= configuration.snapshotMaxNewRecordBytes else { return nil }
        let end = state.node.committedEndOffset
        guard end > state.node.logStartOffset else { return nil }
        let checkpoint = KRaftCheckpoint(
            lastContainedLogTimestamp: state.lastCommittedAppendTime,
            kraftVersion: state.voters == nil
                ? nil : state.kraftVersion ?? KRaftVersionRecord(version: 0, kRaftVersion: 1),
            voters: state.voters, records: stateMachine.snapshotRecords())
        let id = OffsetAndEpoch(offset: end, epoch: state.lastCommittedEpoch)
        let bytes = try store.writeSnapshot(checkpoint, id: id, now: Self.wallClockMilliseconds())
        state.bytesSinceSnapshot = 0
        logger.info("wrote a metadata snapshot", metadata: ["snapshot": "\(id)", "bytes": "\(bytes.readableBytes)"])
        return RaftSnapshot(
            id: id, lastContainedLogTimestamp: state.lastCommittedAppendTime, bytes: bytes, voters: state.voters)
    }

    private func failProposals(atOrAfter offset: Int64, _ reason: String, _ state: inout RaftDriverState) {
        for (lastOffset, proposal) in state.proposals where lastOffset >= offset {
            state.proposals[lastOffset] = nil
            proposal.reply.fail(RaftDriverError(.notController, reason))
        }
    }

    /// Proposals whose offset is committed but whose batch was not theirs (replaced by another leader's).
    private func failProposals(below offset: Int64, _ state: inout RaftDriverState) {
        for (lastOffset, proposal) in state.proposals where lastOffset < offset {
            state.proposals[lastOffset] = nil
            proposal.reply.fail(RaftDriverError(.notController, "the proposal at \(lastOffset) was not committed"))
        }
    }

    /// Wall-clock milliseconds, for the timestamps written into snapshot files.
    static func wallClockMilliseconds() -> Int64 {
        SystemStorageClock().nowMilliseconds()
    }
}
