import KafkaProtocol

/// KIP-853 voters in the log: the voter set is the latest `VotersRecord` (in effect once appended, committed or not;
/// a truncation can take it back), and the leader changes it one voter at a time with AddRaftVoter,
/// RemoveRaftVoter and UpdateRaftVoter.
extension RaftNode {
    /// Recomputes the voter set from the log, else the snapshot, else the configuration.
    mutating func recomputeVoterSet() {
        if let (record, offset) = latestVotersRecord(before: raftLog.endOffset) {
            votersRecord = record
            votersRecordOffset = offset
        } else {
            votersRecord = raftLog.snapshot?.voters
            votersRecordOffset = nil
        }
        if let votersRecord {
            voterSet = votersRecord.voters.map { ReplicaKey(id: $0.voterID, wireDirectoryID: $0.voterDirectoryID) }
        } else {
            voterSet = configuration.voters
        }
    }

    /// The `VotersRecord` in effect just before `offset` (for a snapshot ending there).
    func votersRecord(before offset: Int64) -> VotersRecord? {
        latestVotersRecord(before: offset)?.record ?? raftLog.snapshot?.voters
    }

    private func latestVotersRecord(before end: Int64) -> (record: VotersRecord, offset: Int64)? {
        for batch in raftLog.batches.reversed() where batch.baseOffset < end {
            for (index, record) in batch.records.enumerated().reversed() {
                let offset = batch.baseOffset + Int64(index)
                if offset < end, case .voters(let voters) = record { return (voters, offset) }
            }
        }
        return nil
    }

    /// The current voters as a record to change: the latest one, or the configured voters without endpoints.
    private var currentVotersRecord: VotersRecord {
        votersRecord
            ?? VotersRecord(
                version: 0,
                voters: voterSet.map { VotersRecord.Voter(voterID: $0.id, voterDirectoryID: $0.wireDirectoryID) })
    }

    /// Why the leader cannot take a voter change now (Kafka answers REQUEST_TIMED_OUT and the caller retries): its
    /// epoch has committed nothing yet, or the previous change has not committed (one change at a time).
    private func voterChangeBlocked(_ leader: LeaderState) -> Bool {
        guard let highWatermark = highWatermarkValue, highWatermark > leader.epochStartOffset else { return true }
        if leader.pendingVoterChange != nil { return true }
        if let offset = votersRecordOffset, offset >= highWatermark { return true }
        return false
    }

    mutating func handleAddVoter(
        _ request: RaftMessage.AddRaftVoterRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        func answer(_ error: ErrorCode, _ message: String? = nil) -> RaftOutput {
            .send(
                .addRaftVoterResponse(
                    RaftMessage.VoterChangeResponse(
                        correlationID: request.correlationID, errorCode: error, errorMessage: message)),
                to: sender)
        }
        guard clusterMatches(request.clusterID) else { return outputs.append(answer(.inconsistentClusterID)) }
        guard case .leader(var leader) = state else { return outputs.append(answer(.notLeaderOrFollower)) }
        guard request.voterDirectoryID != nil else { return outputs.append(answer(.invalidRequest, "no directory id")) }
        guard !isVoter(id: request.voterID) else { return outputs.append(answer(.duplicateVoter)) }
        guard !voterChangeBlocked(leader) else { return outputs.append(answer(.requestTimedOut)) }
        // Only a replica that fetches and has caught up to the high watermark may vote: otherwise it could not
        // help commit anything and the quorum would lose availability (Kafka checks the same).
        guard let progress = leader.observers[request.voterID], progress.key.matches(request.voterKey),
            let end = progress.endOffset, end >= (highWatermarkValue ?? 0)
        else { return outputs.append(answer(.requestTimedOut, "the new voter has not caught up")) }
        var record = currentVotersRecord
        record.voters.append(
            VotersRecord.Voter(
                voterID: request.voterID, voterDirectoryID: request.voterKey.wireDirectoryID,
                endpoints: request.listeners,
                kRaftVersionFeature: VotersRecord.KRaftVersionFeature(minSupportedVersion: 0, maxSupportedVersion: 1)))
        leader.voters[request.voterID] = progress
        leader.observers[request.voterID] = nil
        update(.leader(leader))
        appendVoterChange(
            record, kind: .add, requester: sender, correlationID: request.correlationID,
            removesLeader: false, into: &outputs)
    }

    mutating func handleRemoveVoter(
        _ request: RaftMessage.RemoveRaftVoterRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        func answer(_ error: ErrorCode, _ message: String? = nil) -> RaftOutput {
            .send(
                .removeRaftVoterResponse(
                    RaftMessage.VoterChangeResponse(
                        correlationID: request.correlationID, errorCode: error, errorMessage: message)),
                to: sender)
        }
        guard clusterMatches(request.clusterID) else { return outputs.append(answer(.inconsistentClusterID)) }
        guard case .leader(var leader) = state else { return outputs.append(answer(.notLeaderOrFollower)) }
        guard isVoter(request.voterKey) else { return outputs.append(answer(.voterNotFound)) }
        guard voterSet.count > 1 else { return outputs.append(answer(.invalidRequest, "the last voter")) }
        guard !voterChangeBlocked(leader) else { return outputs.append(answer(.requestTimedOut)) }
        var record = currentVotersRecord
        record.voters.removeAll {
            ReplicaKey(id: $0.voterID, wireDirectoryID: $0.voterDirectoryID).matches(request.voterKey)
        }
        if let progress = leader.voters.removeValue(forKey: request.voterID), request.voterID != configuration.nodeID {
            leader.observers[request.voterID] = progress
        }
        leader.fetchedVoters.remove(request.voterID)
        leader.unackedVoters.remove(request.voterID)
        update(.leader(leader))
        appendVoterChange(
            record, kind: .remove, requester: sender, correlationID: request.correlationID,
            removesLeader: request.voterID == configuration.nodeID, into: &outputs)
    }

    mutating func handleUpdateVoter(
        _ request: RaftMessage.UpdateRaftVoterRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        func answer(_ node: RaftNode, _ error: ErrorCode) -> RaftOutput {
            .send(
                .updateRaftVoterResponse(
                    RaftMessage.UpdateRaftVoterResponse(
                        correlationID: request.correlationID, errorCode: error,
                        currentLeader: node.currentLeaderAndEpoch)),
                to: sender)
        }
        guard clusterMatches(request.clusterID) else { return outputs.append(answer(self, .inconsistentClusterID)) }
        if let error = leaderOnlyError(currentLeaderEpoch: request.currentLeaderEpoch) {
            return outputs.append(answer(self, error))
        }
        guard case .leader(let leader) = state else { return }
        guard let known = voterKey(of: request.voterID), known.matches(request.voterKey) else {
            return outputs.append(answer(self, .voterNotFound))
        }
        guard !voterChangeBlocked(leader) else { return outputs.append(answer(self, .requestTimedOut)) }
        var record = currentVotersRecord
        for index in record.voters.indices where record.voters[index].voterID == request.voterID {
            record.voters[index].endpoints = request.listeners
            record.voters[index].kRaftVersionFeature = request.kRaftVersionFeature
        }
        appendVoterChange(
            record, kind: .update, requester: sender, correlationID: request.correlationID,
            removesLeader: false, into: &outputs)
    }

    /// Appends the new voter set (in effect from now on) and remembers whom to answer when it commits. The first
    /// change also records `kraft.version` 1 (voters in the log).
    private mutating func appendVoterChange(
        _ record: VotersRecord, kind: LeaderState.PendingVoterChange.Kind, requester: NodeID, correlationID: Int32,
        removesLeader: Bool, into outputs: inout [RaftOutput]
    ) {
        var records: [RaftRecord] = []
        if votersRecord == nil { records.append(.kraftVersion(KRaftVersionRecord(version: 0, kRaftVersion: 1))) }
        records.append(.voters(record))
        let offset = raftLog.endOffset + Int64(records.count) - 1
        appendAsLeader(records, appendTimeMs: now, into: &outputs)
        guard case .leader(var leader) = state else { return }
        leader.pendingVoterChange = LeaderState.PendingVoterChange(
            kind: kind, requester: requester, correlationID: correlationID, offset: offset,
            removesLeader: removesLeader)
        update(.leader(leader))
    }

    /// Called after the leader's high watermark moved: answers the committed voter change, and a leader that
    /// removed itself steps down.
    mutating func completeVoterChange(into outputs: inout [RaftOutput]) {
        guard case .leader(var leader) = state, let pending = leader.pendingVoterChange,
            let highWatermark = highWatermarkValue, highWatermark > pending.offset
        else { return }
        leader.pendingVoterChange = nil
        update(.leader(leader))
        outputs.append(Self.voterChangeAnswer(pending, error: .none, leader: currentLeaderAndEpoch))
        if pending.removesLeader { resign(into: &outputs) }
    }

    /// The answer to a pending voter change, with `error`.
    static func voterChangeAnswer(
        _ pending: LeaderState.PendingVoterChange, error: ErrorCode, leader: LeaderAndEpoch
    ) -> RaftOutput {
        let message: RaftMessage
        switch pending.kind {
        case .add:
            message = .addRaftVoterResponse(
                RaftMessage.VoterChangeResponse(correlationID: pending.correlationID, errorCode: error))
        case .remove:
            message = .removeRaftVoterResponse(
                RaftMessage.VoterChangeResponse(correlationID: pending.correlationID, errorCode: error))
        case .update:
            message = .updateRaftVoterResponse(
                RaftMessage.UpdateRaftVoterResponse(
                    correlationID: pending.correlationID, errorCode: error, currentLeader: leader))
        }
        return .send(message, to: pending.requester)
    }
}
