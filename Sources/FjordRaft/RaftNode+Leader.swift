import KafkaProtocol
import NIOCore

/// The leader: its first batch (LeaderChange), proposals, the high watermark, check-quorum and resignation.
extension RaftNode {
    /// Kafka's `CHECK_QUORUM_TIMEOUT_FACTOR`: a leader resigns after 1.5 × fetch timeout without fetches from a
    /// majority.
    var checkQuorumTimeoutMs: Int64 { configuration.fetchTimeoutMs * 3 / 2 }

    /// Takes the lead of the candidate's epoch: appends the LeaderChange control batch (which must commit before the
    /// high watermark moves or proposals are taken) and announces itself with BeginQuorumEpoch.
    mutating func becomeLeader(grantingVoters: Set<NodeID>, into outputs: inout [RaftOutput]) {
        var progress: [NodeID: LeaderState.Progress] = [:]
        for key in voterSet { progress[key.id] = LeaderState.Progress(key: key) }
        let leader = LeaderState(
            epoch: state.epoch, epochStartOffset: raftLog.endOffset, grantingVoters: grantingVoters,
            voters: progress, observers: [:], fetchedVoters: [], checkQuorumDeadline: now + checkQuorumTimeoutMs,
            unackedVoters: Set(otherVoterIDs), beginQuorumEpochDeadline: now + configuration.fetchTimeoutMs / 2,
            parkedFetches: [:])
        transition(to: .leader(leader), into: &outputs)
        let change = LeaderChangeMessage(
            version: 0, leaderID: configuration.nodeID,
            voters: voterSet.map { LeaderChangeMessage.Voter(voterID: $0.id, voterDirectoryID: $0.wireDirectoryID) },
            grantingVoters: voterSet.filter { grantingVoters.contains($0.id) }.map {
                LeaderChangeMessage.Voter(voterID: $0.id, voterDirectoryID: $0.wireDirectoryID)
            })
        appendAsLeader([.leaderChange(change)], appendTimeMs: now, into: &outputs)
        sendBeginQuorumEpoch(into: &outputs)
    }

    /// Appends one batch of the current epoch; parked fetches are answered with it.
    mutating func appendAsLeader(_ records: [RaftRecord], appendTimeMs: Int64, into outputs: inout [RaftOutput]) {
        guard case .leader(let leader) = state else { preconditionFailure("append while not leader") }
        let batch = RaftBatch(
            baseOffset: raftLog.endOffset, epoch: leader.epoch, appendTimeMs: appendTimeMs, records: records)
        raftLog.append(batch)
        outputs.append(.appendLog([batch]))
        if batch.records.contains(where: { if case .voters = $0 { true } else { false } }) { recomputeVoterSet() }
        answerParkedFetches(onlyExpired: false, into: &outputs)
    }

    /// Leader only: appends `records` as one batch of the current epoch. The batch's `.appendLog` comes out of the
    /// next `step` (whatever its input), before that step's own outputs.
    public mutating func propose(_ records: [ByteBuffer], now time: Int64) -> ProposalResult {
        guard case .leader(let leader) = state else {
            let hint = leaderID == configuration.nodeID ? nil : leaderID
            return .notLeader(leaderHint: hint)
        }
        guard let highWatermark = highWatermarkValue, highWatermark > leader.epochStartOffset else { return .notReady }
        let data = records.map { RaftRecord.data($0) }
        guard !data.isEmpty, 61 + data.reduce(0, { $0 + $1.estimatedSize }) <= configuration.fetchMaxBytes else {
            return .invalid
        }
        let base = raftLog.endOffset
        var outputs: [RaftOutput] = []
        appendAsLeader(data, appendTimeMs: max(time, now), into: &outputs)
        pendingOutputs += outputs
        return .accepted(baseOffset: base, lastOffset: raftLog.endOffset - 1, epoch: leader.epoch)
    }

    /// Moves the leader's high watermark to the largest offset a majority of voters persisted (its own persisted
    /// end counts), once that covers the LeaderChange batch of its epoch.
    mutating func maybeAdvanceLeaderHighWatermark(into outputs: inout [RaftOutput]) {
        guard case .leader(let leader) = state else { return }
        let ends = voterSet.map { key -> Int64 in
            if key.id == configuration.nodeID { return persistedEndOffset }
            return (leader.voters[key.id] ?? leader.observers[key.id])?.endOffset ?? -1
        }
        .sorted(by: >)
        guard !ends.isEmpty else { return }
        let candidate = ends[majority - 1]
        guard candidate > leader.epochStartOffset, candidate > (highWatermarkValue ?? -1) else { return }
        setHighWatermark(candidate, into: &outputs)
        answerParkedFetches(onlyExpired: false, into: &outputs)
        completeVoterChange(into: &outputs)
    }

    /// Raises the high watermark and hands the batches it newly covers to the driver, once each, in order.
    mutating func setHighWatermark(_ highWatermark: Int64, into outputs: inout [RaftOutput]) {
        if let current = highWatermarkValue {
            precondition(highWatermark >= current, "high watermark went back from \(current) to \(highWatermark)")
            if highWatermark == current { return }
        }
        highWatermarkValue = highWatermark
        appliedEndOffset = max(appliedEndOffset, raftLog.startOffset)
        let committed = raftLog.batches(in: appliedEndOffset..<highWatermark).filter { $0.nextOffset <= highWatermark }
        if let last = committed.last { appliedEndOffset = last.nextOffset }
        outputs.append(.commit(highWatermark: highWatermark, batches: committed))
    }

    /// Counts a fetch from a voter towards check-quorum: once a majority (the leader included) fetched, the timer
    /// starts over.
    mutating func noteVoterFetch(_ key: ReplicaKey, into leader: inout LeaderState) {
        guard key.id != configuration.nodeID, let voter = voterKey(of: key.id), voter.matches(key) else { return }
        leader.fetchedVoters.insert(key.id)
        leader.unackedVoters.remove(key.id)
        let needed = majority - (isVoter ? 1 : 0)
        if leader.fetchedVoters.count >= needed {
            leader.fetchedVoters = []
            leader.checkQuorumDeadline = now + checkQuorumTimeoutMs
        }
    }

    /// Leader timers: check-quorum, BeginQuorumEpoch resends, parked fetches that waited long enough.
    mutating func tickLeader(into outputs: inout [RaftOutput]) {
        guard case .leader(var leader) = state else { return }
        if voterSet.count > 1 || !isVoter, now >= leader.checkQuorumDeadline {
            resign(into: &outputs)
            return
        }
        if now >= leader.beginQuorumEpochDeadline {
            leader.unackedVoters = Set(otherVoterIDs)
            leader.beginQuorumEpochDeadline = now + configuration.fetchTimeoutMs / 2
            update(.leader(leader))
        }
        sendBeginQuorumEpoch(into: &outputs)
        answerParkedFetches(onlyExpired: true, into: &outputs)
    }

    mutating func sendBeginQuorumEpoch(into outputs: inout [RaftOutput]) {
        guard case .leader(let leader) = state else { return }
        for voter in leader.unackedVoters.sorted()
        where requests.canSend(to: voter, now: now, requestTimeoutMs: configuration.requestTimeoutMs) {
            let directory = voterKey(of: voter)?.directoryID
            let correlationID = requests.record(.beginQuorumEpoch(epoch: leader.epoch), to: voter, now: now)
            outputs.append(
                .send(
                    .beginQuorumEpochRequest(
                        RaftMessage.BeginQuorumEpochRequest(
                            correlationID: correlationID, clusterID: configuration.clusterID, voterID: voter,
                            voterDirectoryID: directory, leaderID: configuration.nodeID, leaderEpoch: leader.epoch)),
                    to: voter))
        }
    }

    /// `.resign`: a leader steps down gracefully; other roles have nothing to give up.
    mutating func onResignRequested(into outputs: inout [RaftOutput]) {
        if case .leader = state { resign(into: &outputs) }
    }

    /// Steps down: tells the voters with EndQuorumEpoch, most caught-up first as preferred successors.
    mutating func resign(into outputs: inout [RaftOutput]) {
        guard case .leader(let leader) = state else { return }
        let successors = leader.voters.values.filter { $0.key.id != configuration.nodeID }
            .sorted { ($0.endOffset ?? -1, -$0.key.id) > ($1.endOffset ?? -1, -$1.key.id) }
            .map(\.key)
        let resigned = ResignedState(
            epoch: leader.epoch, unackedVoters: Set(otherVoterIDs), preferredSuccessors: successors,
            electionDeadline: now + randomElectionTimeout())
        transition(to: .resigned(resigned), into: &outputs)
        sendEndQuorumEpoch(into: &outputs)
    }

    mutating func sendEndQuorumEpoch(into outputs: inout [RaftOutput]) {
        guard case .resigned(let resigned) = state else { return }
        for voter in resigned.unackedVoters.sorted()
        where requests.canSend(to: voter, now: now, requestTimeoutMs: configuration.requestTimeoutMs) {
            let correlationID = requests.record(.endQuorumEpoch(epoch: resigned.epoch), to: voter, now: now)
            outputs.append(
                .send(
                    .endQuorumEpochRequest(
                        RaftMessage.EndQuorumEpochRequest(
                            correlationID: correlationID, clusterID: configuration.clusterID,
                            leaderID: configuration.nodeID, leaderEpoch: resigned.epoch,
                            preferredCandidates: resigned.preferredSuccessors)),
                    to: voter))
        }
    }

    /// A resigned leader keeps telling the voters until they acknowledge, then runs again after its timeout (or,
    /// no longer a voter, moves to the next epoch unattached so that it never answers as leader again).
    mutating func tickResigned(into outputs: inout [RaftOutput]) {
        guard case .resigned(let resigned) = state else { return }
        if now >= resigned.electionDeadline {
            if isVoter {
                startProspective(retries: 1, into: &outputs)
            } else {
                adoptHigherEpoch(resigned.epoch + 1, leader: nil, into: &outputs)
            }
            return
        }
        sendEndQuorumEpoch(into: &outputs)
    }
}
