import KafkaProtocol

/// The inputs that are not messages: ticks, fsync reports, snapshots taken; DescribeQuorum.
extension RaftNode {
    mutating func onTick(into outputs: inout [RaftOutput]) {
        switch state {
        case .leader: tickLeader(into: &outputs)
        case .resigned: tickResigned(into: &outputs)
        case .follower(let follower):
            if isVoter, now >= follower.fetchDeadline {
                // The leader went quiet: ask (pre-vote) whether an election could be won.
                startProspective(retries: 1, into: &outputs)
            } else {
                maybeSendFetch(into: &outputs)
            }
        case .unattached where !isVoter:
            maybeSendFetch(into: &outputs)
        case .unattached, .voted, .prospective, .candidate:
            tickElection(into: &outputs)
        }
    }

    /// The driver fsynced the log up to `offset` (the log as it holds it after the outputs it carried out).
    mutating func onPersisted(through offset: Int64, into outputs: inout [RaftOutput]) {
        let persisted = min(offset, raftLog.endOffset)
        guard persisted > persistedEndOffset else { return }
        persistedEndOffset = persisted
        switch state {
        case .leader:
            maybeAdvanceLeaderHighWatermark(into: &outputs)
        case .follower, .unattached:
            // A fetch held back until the log was durable can go now.
            maybeSendFetch(into: &outputs)
        default:
            break
        }
    }

    /// The driver wrote a snapshot of the committed state: it becomes the latest, and the log before it may go.
    mutating func onSnapshotTaken(_ snapshot: RaftSnapshot, into outputs: inout [RaftOutput]) {
        precondition(
            snapshot.id.offset <= appliedEndOffset,
            "snapshot \(snapshot.id) beyond the committed and applied \(appliedEndOffset)")
        guard snapshot.id.offset > raftLog.startOffset else { return }
        var snapshot = snapshot
        if snapshot.voters == nil { snapshot.voters = votersRecord(before: snapshot.id.offset) }
        raftLog.adopt(snapshot)
        outputs.append(.deleteLogPrefix(before: snapshot.id.offset))
    }

    /// DescribeQuorum's content. Only the leader knows the others' progress; other nodes report their own.
    public func describeQuorum() -> QuorumDescription {
        let ownEnd = raftLog.endOffset
        if case .leader(let leader) = state {
            let voters = voterSet.map { key -> QuorumDescription.Replica in
                if key.id == configuration.nodeID {
                    return QuorumDescription.Replica(
                        key: key, logEndOffset: ownEnd, lastFetchTimestamp: now, lastCaughtUpTimestamp: now)
                }
                let progress = leader.voters[key.id]
                return QuorumDescription.Replica(
                    key: key, logEndOffset: progress?.endOffset, lastFetchTimestamp: progress?.lastFetchTimestamp,
                    lastCaughtUpTimestamp: progress?.lastCaughtUpTimestamp)
            }
            let observers = leader.observers.values.sorted { $0.key.id < $1.key.id }.map {
                QuorumDescription.Replica(
                    key: $0.key, logEndOffset: $0.endOffset, lastFetchTimestamp: $0.lastFetchTimestamp,
                    lastCaughtUpTimestamp: $0.lastCaughtUpTimestamp)
            }
            return QuorumDescription(
                leaderID: configuration.nodeID, leaderEpoch: leader.epoch, highWatermark: highWatermarkValue,
                voters: voters, observers: observers)
        }
        let voters = voterSet.map { key in
            QuorumDescription.Replica(
                key: key, logEndOffset: key.id == configuration.nodeID ? ownEnd : nil, lastFetchTimestamp: nil,
                lastCaughtUpTimestamp: nil)
        }
        return QuorumDescription(
            leaderID: leaderID, leaderEpoch: state.epoch, highWatermark: highWatermarkValue, voters: voters,
            observers: [])
    }
}
