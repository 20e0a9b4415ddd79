import KafkaProtocol

/// Fetch (API 1) on the leader: validate the fetcher's position against the epoch history, record its progress,
/// and answer with batches, a diverging epoch, a snapshot id, or park the request until there is something new.
extension RaftNode {
    /// Where a fetcher's (offset, last fetched epoch) stands against this leader's log.
    enum FetchPosition: Equatable {
        case valid
        /// The fetcher's log diverged: truncate to (at most) this epoch's end, then fetch again.
        case diverging(OffsetAndEpoch)
        /// The answer lies before the log start: fetch this snapshot.
        case snapshot(OffsetAndEpoch)
    }

    mutating func handleFetchRequest(
        _ request: RaftMessage.FetchRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        guard clusterMatches(request.clusterID) else {
            outputs.append(fetchError(request, .inconsistentClusterID, .none))
            return
        }
        guard request.replicaID == sender, request.fetchOffset >= 0, request.lastFetchedEpoch >= 0 else {
            outputs.append(fetchError(request, .none, .invalidRequest))
            return
        }
        if let error = leaderOnlyError(currentLeaderEpoch: request.currentLeaderEpoch) {
            outputs.append(fetchError(request, .none, error))
            return
        }
        guard case .leader(var leader) = state else { return }
        guard request.lastFetchedEpoch <= leader.epoch else {
            outputs.append(fetchError(request, .none, .invalidRequest))
            return
        }
        noteVoterFetch(request.replicaKey, into: &leader)
        let position = validateFetchPosition(offset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch)
        if position == .valid {
            // The fetch offset is durable on the fetcher (it fetches only after persisting), so it counts.
            var progress =
                leader.voters[sender] ?? leader.observers[sender] ?? LeaderState.Progress(key: request.replicaKey)
            progress.endOffset = request.fetchOffset
            progress.lastFetchTimestamp = now
            if request.fetchOffset >= raftLog.endOffset { progress.lastCaughtUpTimestamp = now }
            // Voters and observers are kept apart for DescribeQuorum; a voter change moves a replica across.
            if isVoter(request.replicaKey) {
                leader.voters[sender] = progress
                leader.observers[sender] = nil
            } else {
                leader.observers[sender] = progress
                leader.voters[sender] = nil
            }
        }
        leader.parkedFetches[sender] = nil
        update(.leader(leader))
        if position == .valid { maybeAdvanceLeaderHighWatermark(into: &outputs) }
        guard case .leader(var current) = state else { return }
        let caughtUp = request.fetchOffset >= raftLog.endOffset
        let known = current.voters[sender] ?? current.observers[sender]
        let knowsHighWatermark = known.map { $0.lastSentHighWatermark == highWatermarkValue } ?? false
        if position == .valid, caughtUp, knowsHighWatermark, request.maxWaitMs > 0 {
            // Nothing new for it: hold the request until data or a new high watermark arrives, or the wait ends.
            let wait = min(Int64(request.maxWaitMs), configuration.fetchMaxWaitMs)
            current.parkedFetches[sender] = LeaderState.ParkedFetch(request: request, deadline: now + wait)
            update(.leader(current))
            return
        }
        answerFetch(request, into: &outputs)
    }

    /// Answers a fetch from the current state (also a parked one, and one parked by a leader that stepped down).
    mutating func answerFetch(_ request: RaftMessage.FetchRequest, into outputs: inout [RaftOutput]) {
        if let error = leaderOnlyError(currentLeaderEpoch: request.currentLeaderEpoch) {
            outputs.append(fetchError(request, .none, error))
            return
        }
        guard case .leader(var leader) = state else { return }
        var response = RaftMessage.FetchResponse(
            correlationID: request.correlationID, highWatermark: highWatermarkValue ?? -1,
            logStartOffset: raftLog.startOffset, currentLeader: currentLeaderAndEpoch)
        switch validateFetchPosition(offset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch) {
        case .valid:
            let maxBytes = min(Int(max(request.maxBytes, 1)), configuration.fetchMaxBytes)
            response.batches = raftLog.batches(from: request.fetchOffset, upTo: raftLog.endOffset, maxBytes: maxBytes)
        case .diverging(let diverging):
            response.divergingEpoch = diverging
        case .snapshot(let snapshotID):
            response.snapshotID = snapshotID
        }
        let sender = request.replicaID
        if leader.voters[sender] != nil {
            leader.voters[sender]?.lastSentHighWatermark = highWatermarkValue
        } else if leader.observers[sender] != nil {
            leader.observers[sender]?.lastSentHighWatermark = highWatermarkValue
        }
        update(.leader(leader))
        outputs.append(.send(.fetchResponse(response), to: sender))
    }

    /// Answers the parked fetches: all of them (something changed), or only those whose wait is over.
    mutating func answerParkedFetches(onlyExpired: Bool, into outputs: inout [RaftOutput]) {
        guard case .leader(var leader) = state else { return }
        let due = leader.parkedFetches.filter { !onlyExpired || now >= $0.value.deadline }.sorted { $0.key < $1.key }
        guard !due.isEmpty else { return }
        for (sender, _) in due { leader.parkedFetches[sender] = nil }
        update(.leader(leader))
        for (_, parked) in due { answerFetch(parked.request, into: &outputs) }
    }

    /// Kafka's check for requests only the leader serves: an older epoch is fenced, a newer one unknown here, and
    /// a node that does not lead (resigned included) says so; nil when this node leads that epoch.
    func leaderOnlyError(currentLeaderEpoch epoch: Int32) -> ErrorCode? {
        if epoch < state.epoch { return .fencedLeaderEpoch }
        if epoch > state.epoch { return .unknownLeaderEpoch }
        if case .leader = state { return nil }
        return .notLeaderOrFollower
    }

    /// Checks a fetcher's position against the epoch history (Kafka's `validateOffsetAndEpoch`).
    func validateFetchPosition(offset: Int64, lastFetchedEpoch: Int32) -> FetchPosition {
        let start = raftLog.startOffset
        if let snapshot = raftLog.snapshot {
            if offset < start { return .snapshot(snapshot.id) }
            if offset == start {
                return lastFetchedEpoch == snapshot.id.epoch ? .valid : .snapshot(snapshot.id)
            }
        } else if offset == 0 {
            return .valid
        }
        guard let end = raftLog.endOffset(forEpoch: lastFetchedEpoch) else {
            // The epoch's history went with the log prefix: only the snapshot can settle it.
            return .snapshot(raftLog.snapshot?.id ?? .zero)
        }
        if end.epoch == lastFetchedEpoch, offset <= end.offset { return .valid }
        if let snapshot = raftLog.snapshot, end.offset < start { return .snapshot(snapshot.id) }
        return .diverging(end)
    }

    private func fetchError(_ request: RaftMessage.FetchRequest, _ error: ErrorCode, _ partitionError: ErrorCode)
        -> RaftOutput
    {
        .send(
            .fetchResponse(
                RaftMessage.FetchResponse(
                    correlationID: request.correlationID, errorCode: error, partitionErrorCode: partitionError,
                    highWatermark: highWatermarkValue ?? -1, logStartOffset: raftLog.startOffset,
                    currentLeader: currentLeaderAndEpoch)),
            to: request.replicaID)
    }
}
