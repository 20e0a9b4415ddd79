import KafkaProtocol

/// The one place that assigns `RaftNode.state`.
///
/// Legal edges (and what causes them); "a higher epoch" is any message carrying an epoch above ours:
/// - `unattached → unattached`: a higher epoch with no known leader.
/// - `unattached → voted`: a Vote granted (at our epoch or a higher one).
/// - `unattached → prospective`: a voter's election timeout.
/// - `unattached → follower`: a leader learned (BeginQuorumEpoch, a Fetch or Vote answer naming it).
/// - `voted → voted`: a vote granted at a higher epoch.
/// - `voted → unattached | follower | prospective`: a higher epoch; the leader of our epoch; the election timeout.
/// - `prospective → candidate`: a majority granted the pre-vote (KIP-996): the epoch is bumped here.
/// - `prospective → follower`: a pre-vote answer or BeginQuorumEpoch names the leader of our epoch or a higher one;
///   or the round was lost while the leader it came from is still heard by the voters (it follows it again).
/// - `prospective → unattached | voted`: a higher epoch; a vote granted at a higher epoch.
/// - `candidate → leader`: a majority granted the vote.
/// - `candidate → follower | unattached | voted`: the winner of our epoch (or a higher one) announced itself; a
///   higher epoch; a vote granted at a higher epoch.
/// - `candidate → prospective`: the election was lost or timed out and the backoff passed.
/// - `leader → resigned`: graceful resignation (`.resign`) or check-quorum failed (no fetches from a majority for
///   1.5 × fetch timeout).
/// - `leader → unattached | follower | voted`: a higher epoch.
/// - `follower → follower`: a higher epoch with its leader (or an observer learning the leader of its epoch).
/// - `follower → unattached | voted`: a higher epoch; a vote granted at a higher epoch.
/// - `follower → prospective`: a voter's fetch timeout (possibly shortened by EndQuorumEpoch).
/// - `resigned → prospective`: the election timeout after resigning.
/// - `resigned → unattached | follower | voted`: a higher epoch (a resigned leader outside the voter set moves to
///   unattached at epoch + 1 when its timer passes).
///
/// Preconditions on every edge: the epoch never goes back; within one epoch a node never knows two leaders; only
/// voters are voted, prospective, candidate or leader; an epoch change or a vote is persisted (`.persistQuorumState`
/// first in the outputs) before anything the new role sends.
extension RaftNode {
    static func isLegalEdge(from: RaftRoleSummary.Name, to: RaftRoleSummary.Name) -> Bool {
        switch (from, to) {
        case (.unattached, .unattached), (.unattached, .voted), (.unattached, .prospective),
            (.unattached, .follower):
            true
        case (.voted, .voted), (.voted, .unattached), (.voted, .follower), (.voted, .prospective):
            true
        case (.prospective, .candidate), (.prospective, .follower), (.prospective, .unattached),
            (.prospective, .voted):
            true
        case (.candidate, .leader), (.candidate, .follower), (.candidate, .unattached), (.candidate, .voted),
            (.candidate, .prospective):
            true
        case (.leader, .resigned), (.leader, .unattached), (.leader, .follower), (.leader, .voted):
            true
        case (.follower, .follower), (.follower, .unattached), (.follower, .voted), (.follower, .prospective):
            true
        case (.resigned, .prospective), (.resigned, .unattached), (.resigned, .follower), (.resigned, .voted):
            true
        default:
            false
        }
    }

    /// Moves to `next`, checking the edge, persisting the quorum state if it changed and announcing the role.
    mutating func transition(to next: RaftRole, into outputs: inout [RaftOutput]) {
        let previous = state
        precondition(
            Self.isLegalEdge(from: previous.name, to: next.name), "illegal Raft edge \(previous.name) → \(next.name)")
        precondition(next.epoch >= previous.epoch, "epoch went back from \(previous.epoch) to \(next.epoch)")
        switch next {
        case .voted, .prospective, .candidate, .leader:
            precondition(isVoter, "observer \(configuration.nodeID) cannot become \(next.name)")
        default:
            break
        }
        if next.epoch == previous.epoch, let known = Self.leader(of: previous, local: configuration.nodeID),
            let announced = Self.leader(of: next, local: configuration.nodeID)
        {
            precondition(known == announced, "two leaders in epoch \(next.epoch): \(known) and \(announced)")
        }
        if previous.epoch == next.epoch, case .voted(let before) = previous, case .voted(let after) = next {
            precondition(before.votedKey == after.votedKey, "two votes in epoch \(next.epoch)")
        }
        let parked = Self.parkedFetches(of: previous)
        var pendingVoterChange: LeaderState.PendingVoterChange?
        if case .leader(let leader) = previous { pendingVoterChange = leader.pendingVoterChange }
        state = next
        requests.reset()
        let quorum = quorumState(of: next)
        if quorum != persistedQuorumState {
            persistedQuorumState = quorum
            outputs.append(.persistQuorumState(quorum))
        }
        outputs.append(.roleChanged(role))
        // Fetches a former leader parked are answered now, so their fetchers learn the new state at once.
        for fetch in parked { answerFetch(fetch, into: &outputs) }
        // A voter change the former leader had not committed is answered as Kafka does: this node no longer leads.
        if let pending = pendingVoterChange {
            outputs.append(Self.voterChangeAnswer(pending, error: .notLeaderOrFollower, leader: currentLeaderAndEpoch))
        }
    }

    /// Replaces the current role's state without changing the role (timers, vote tallies, progress).
    mutating func update(_ next: RaftRole) {
        precondition(next.name == state.name && next.epoch == state.epoch, "update may not change the role")
        state = next
    }

    /// The role a (re)started node takes from its persisted quorum state: the leader of its epoch is followed
    /// (a former leader comes back resigned, since it lost its in-memory progress), a vote is kept, else unattached.
    mutating func restoreRole(from quorumState: QuorumState) {
        let epoch = quorumState.leaderEpoch
        let deadline = now + randomElectionTimeout()
        if let leader = quorumState.leaderID, leader == configuration.nodeID, isVoter {
            state = .resigned(
                ResignedState(epoch: epoch, unackedVoters: [], preferredSuccessors: [], electionDeadline: deadline))
        } else if let leader = quorumState.leaderID, leader != configuration.nodeID {
            state = .follower(
                FollowerState(
                    epoch: epoch, leaderID: leader, fetchDeadline: now + configuration.fetchTimeoutMs,
                    lastLeaderContact: nil, snapshotDownload: nil, backoffUntil: nil))
        } else if let voted = quorumState.votedKey, isVoter {
            state = .voted(VotedState(epoch: epoch, votedKey: voted, electionDeadline: deadline))
        } else {
            state = .unattached(UnattachedState(epoch: epoch, electionDeadline: deadline))
        }
    }

    /// What `quorum-state` holds for a role. A prospective keeps what it came from: pre-vote persists nothing.
    func quorumState(of role: RaftRole) -> QuorumState {
        switch role {
        case .unattached(let unattached): QuorumState(leaderEpoch: unattached.epoch)
        case .voted(let voted): QuorumState(leaderEpoch: voted.epoch, votedKey: voted.votedKey)
        case .prospective(let prospective): prospective.retained
        case .candidate(let candidate): QuorumState(leaderEpoch: candidate.epoch, votedKey: configuration.localKey)
        case .leader, .resigned:
            QuorumState(leaderEpoch: role.epoch, leaderID: configuration.nodeID, votedKey: configuration.localKey)
        case .follower(let follower): QuorumState(leaderEpoch: follower.epoch, leaderID: follower.leaderID)
        }
    }

    private static func leader(of role: RaftRole, local: NodeID) -> NodeID? {
        switch role {
        case .leader, .resigned: local
        case .follower(let follower): follower.leaderID
        case .unattached, .voted, .prospective, .candidate: nil
        }
    }

    private static func parkedFetches(of role: RaftRole) -> [RaftMessage.FetchRequest] {
        guard case .leader(let leader) = role else { return [] }
        return leader.parkedFetches.sorted { $0.key < $1.key }.map(\.value.request)
    }

    /// A randomized election timeout: `electionTimeoutMs` plus up to as much again (Kafka's
    /// `randomElectionTimeoutMs`), so that voters rarely time out together.
    mutating func randomElectionTimeout() -> Int64 {
        configuration.electionTimeoutMs + random.next(below: configuration.electionTimeoutMs)
    }
}
