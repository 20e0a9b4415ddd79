import KafkaProtocol

/// Fetch (API 1) on the fetching side: followers pull from their leader, observers from the leader or, while it
/// is unknown or silent, from any voter (whose answer names the leader).
extension RaftNode {
    /// Sends the next Fetch (or FetchSnapshot chunk) if nothing is in flight, the whole log is persisted and no
    /// backoff is running. Waiting for the fsync makes the fetch offset durable, which is what lets the leader count
    /// it towards the high watermark; it holds across role changes, so it is checked on the log, not on the role.
    mutating func maybeSendFetch(into outputs: inout [RaftOutput]) {
        guard persistedEndOffset >= raftLog.endOffset else { return }
        switch state {
        case .follower(let follower):
            guard now >= (follower.backoffUntil ?? now) else { return }
            // A voter only ever fetches from its leader; an observer whose leader went quiet asks any voter.
            let target: NodeID
            if isVoter || now < follower.fetchDeadline {
                target = follower.leaderID
            } else {
                guard let voter = randomFetchTarget() else { return }
                target = voter
            }
            sendFetch(to: target, epoch: follower.epoch, download: follower.snapshotDownload, into: &outputs)
        case .unattached(let unattached) where !isVoter:
            guard let voter = randomFetchTarget() else { return }
            sendFetch(to: voter, epoch: unattached.epoch, download: nil, into: &outputs)
        default:
            break
        }
    }

    /// A voter to ask while the leader is unknown, chosen at random; nil while a request is still outstanding.
    private mutating func randomFetchTarget() -> NodeID? {
        let timeout = configuration.requestTimeoutMs
        let voters = otherVoterIDs
        guard !voters.isEmpty,
            !voters.contains(where: { requests.isWaiting(on: $0, now: now, requestTimeoutMs: timeout) })
        else { return nil }
        let choice = voters[Int(random.next(below: Int64(voters.count)))]
        return requests.canSend(to: choice, now: now, requestTimeoutMs: timeout) ? choice : nil
    }

    private mutating func sendFetch(
        to target: NodeID, epoch: Int32, download: SnapshotDownload?, into outputs: inout [RaftOutput]
    ) {
        guard requests.canSend(to: target, now: now, requestTimeoutMs: configuration.requestTimeoutMs) else { return }
        let maxBytes = Int32(clamping: configuration.fetchMaxBytes)
        if let download {
            let position = Int64(download.bytes.count)
            let id = requests.record(.fetchSnapshot(id: download.id, position: position), to: target, now: now)
            outputs.append(
                .send(
                    .fetchSnapshotRequest(
                        RaftMessage.FetchSnapshotRequest(
                            correlationID: id, clusterID: configuration.clusterID, replicaID: configuration.nodeID,
                            replicaDirectoryID: configuration.directoryID, maxBytes: maxBytes,
                            currentLeaderEpoch: epoch,
                            snapshotID: download.id, position: position)),
                    to: target))
            return
        }
        let offset = raftLog.endOffset
        let lastEpoch = raftLog.lastEpoch
        let maxWait = Int32(clamping: configuration.fetchMaxWaitMs)
        let id = requests.record(.fetch(offset: offset), to: target, now: now)
        outputs.append(
            .send(
                .fetchRequest(
                    RaftMessage.FetchRequest(
                        correlationID: id, clusterID: configuration.clusterID, replicaID: configuration.nodeID,
                        replicaDirectoryID: configuration.directoryID, maxWaitMs: maxWait, maxBytes: maxBytes,
                        currentLeaderEpoch: epoch, fetchOffset: offset, lastFetchedEpoch: lastEpoch,
                        logStartOffset: raftLog.startOffset)),
                to: target))
    }

    mutating func handleFetchResponse(
        _ response: RaftMessage.FetchResponse, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        guard let kind = requests.complete(from: sender, correlationID: response.correlationID),
            case .fetch(let offset) = kind
        else { return }
        guard response.errorCode == .none else {
            backOffFetching(from: sender)
            return
        }
        if learnLeader(from: response.currentLeader, into: &outputs) { return }
        guard response.partitionErrorCode == .none else {
            backOffFetching(from: sender)
            return
        }
        guard case .follower(var follower) = state, follower.leaderID == sender, offset == raftLog.endOffset,
            follower.snapshotDownload == nil
        else { return }
        follower.noteLeaderContact(at: now, fetchTimeoutMs: configuration.fetchTimeoutMs)
        follower.backoffUntil = nil
        if let diverging = response.divergingEpoch {
            update(.follower(follower))
            truncate(toDivergence: diverging, into: &outputs)
        } else if let snapshotID = response.snapshotID {
            follower.snapshotDownload = SnapshotDownload(id: snapshotID, bytes: [])
            update(.follower(follower))
        } else {
            let appended = appendFetched(response.batches, upToEpoch: follower.epoch)
            if !appended.isEmpty { outputs.append(.appendLog(appended)) }
            update(.follower(follower))
            // A follower's high watermark is the leader's, capped by its own log, and never goes back.
            let highWatermark = min(response.highWatermark, raftLog.endOffset)
            if highWatermark > (highWatermarkValue ?? -1) { setHighWatermark(highWatermark, into: &outputs) }
        }
        maybeSendFetch(into: &outputs)
    }

    /// Moves to the leader a response names, if it is news: a higher epoch, or the leader of our epoch when we did
    /// not know it. Returns whether the role changed (the caller stops handling the response).
    mutating func learnLeader(from leader: LeaderAndEpoch, into outputs: inout [RaftOutput]) -> Bool {
        if leader.epoch > state.epoch {
            adoptHigherEpoch(leader.epoch, leader: leader.leaderID, into: &outputs)
            return true
        }
        if leader.epoch == state.epoch, let id = leader.leaderID, id != configuration.nodeID, leaderID != id {
            switch state {
            case .unattached, .voted, .prospective, .candidate, .follower:
                becomeFollower(epoch: leader.epoch, leader: id, into: &outputs)
                return true
            case .leader, .resigned:
                preconditionFailure("two leaders in epoch \(leader.epoch): \(configuration.nodeID) and \(id)")
            }
        }
        return false
    }

    /// Waits `retryBackoffMs` before fetching again (an error answer).
    mutating func backOffFetching(from sender: NodeID) {
        requests.backOff(sender, until: now + configuration.retryBackoffMs)
        if case .follower(var follower) = state {
            follower.backoffUntil = now + configuration.retryBackoffMs
            update(.follower(follower))
        }
    }

    /// Appends the fetched batches that continue the log; anything else (a duplicate, a gap, an epoch the leader
    /// cannot have written) ends the append.
    private mutating func appendFetched(_ batches: [RaftBatch], upToEpoch epoch: Int32) -> [RaftBatch] {
        var appended: [RaftBatch] = []
        for batch in batches {
            if batch.nextOffset <= raftLog.endOffset, appended.isEmpty { continue }
            guard batch.baseOffset == raftLog.endOffset, batch.epoch >= raftLog.lastEpoch, batch.epoch <= epoch,
                !batch.records.isEmpty
            else { break }
            raftLog.append(batch)
            appended.append(batch)
        }
        if appended.contains(where: { $0.records.contains { if case .voters = $0 { true } else { false } } }) {
            recomputeVoterSet()
        }
        return appended
    }

    /// The leader's log diverged from ours: truncate to the smaller of its end for the diverging epoch and ours.
    private mutating func truncate(toDivergence diverging: OffsetAndEpoch, into outputs: inout [RaftOutput]) {
        let ours = raftLog.endOffset(forEpoch: diverging.epoch)?.offset ?? raftLog.startOffset
        let target = max(min(diverging.offset, ours), raftLog.startOffset)
        guard target < raftLog.endOffset else { return }
        raftLog.truncate(to: target)
        let end = raftLog.endOffset
        precondition(end >= (highWatermarkValue ?? 0), "truncation to \(end) below the high watermark")
        precondition(end >= appliedEndOffset, "truncation to \(end) below committed \(appliedEndOffset)")
        persistedEndOffset = min(persistedEndOffset, end)
        outputs.append(.truncateLog(toEndOffset: end))
        recomputeVoterSet()
    }
}
