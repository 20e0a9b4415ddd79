import KafkaProtocol

/// Elections: prospective (KIP-996 pre-vote) → candidate → leader, with randomized backoff after a lost round.
extension RaftNode {
    /// Kafka's `RETRY_BACKOFF_BASE_MS`: the unit of the binary exponential election backoff.
    static let electionBackoffBaseMs: Int64 = 100

    /// Starts a pre-vote round: asks every voter whether it could win at epoch + 1. Nothing is bumped or persisted.
    mutating func startProspective(retries: Int, into outputs: inout [RaftOutput]) {
        let prospective = ProspectiveState(
            epoch: state.epoch, retained: persistedQuorumState, granted: [configuration.nodeID], rejected: [],
            electionDeadline: now + randomElectionTimeout(), backoffUntil: nil, retries: retries)
        if case .prospective = state {
            // A new round of the same role: forget the answers (and requests) of the last one.
            update(.prospective(prospective))
            requests.reset()
        } else {
            transition(to: .prospective(prospective), into: &outputs)
        }
        sendVoteRequests(into: &outputs)
        evaluateProspective(into: &outputs)
    }

    /// A majority of pre-vote grants makes a candidate; a majority of rejections ends the round (see
    /// `loseProspectiveRound`).
    mutating func evaluateProspective(into outputs: inout [RaftOutput]) {
        guard case .prospective(let prospective) = state, prospective.backoffUntil == nil else { return }
        if prospective.granted.count >= majority {
            startCandidate(retries: prospective.retries, into: &outputs)
        } else if prospective.rejected.count >= majority {
            loseProspectiveRound(into: &outputs)
        }
    }

    /// A lost (or timed-out) pre-vote round: a node that came from following a leader goes back to it, since the
    /// voters still hear from it (KIP-996); otherwise it backs off and asks again.
    private mutating func loseProspectiveRound(into outputs: inout [RaftOutput]) {
        guard case .prospective(var prospective) = state else { return }
        if let leader = prospective.retained.leaderID, leader != configuration.nodeID {
            becomeFollower(epoch: prospective.epoch, leader: leader, into: &outputs)
            return
        }
        prospective.backoffUntil = now + electionBackoff(retries: prospective.retries)
        update(.prospective(prospective))
    }

    /// Runs for leader at epoch + 1: votes for itself (persisted by the transition before any Vote is sent).
    mutating func startCandidate(retries: Int, into outputs: inout [RaftOutput]) {
        let candidate = CandidateState(
            epoch: state.epoch + 1, granted: [configuration.nodeID], rejected: [],
            electionDeadline: now + randomElectionTimeout(), backoffUntil: nil, retries: retries)
        transition(to: .candidate(candidate), into: &outputs)
        sendVoteRequests(into: &outputs)
        evaluateCandidate(into: &outputs)
    }

    /// A majority of votes makes the leader; a majority of rejections ends the election with a backoff.
    mutating func evaluateCandidate(into outputs: inout [RaftOutput]) {
        guard case .candidate(var candidate) = state, candidate.backoffUntil == nil else { return }
        if candidate.granted.count >= majority {
            becomeLeader(grantingVoters: candidate.granted, into: &outputs)
        } else if candidate.rejected.count >= majority {
            candidate.backoffUntil = now + electionBackoff(retries: candidate.retries)
            update(.candidate(candidate))
        }
    }

    /// Sends Vote (or pre-vote) to every voter that has not answered this round and has no request in flight
    /// (again after the request timeout: the network may have dropped it).
    mutating func sendVoteRequests(into outputs: inout [RaftOutput]) {
        let preVote: Bool
        let candidateEpoch: Int32
        let answered: Set<NodeID>
        switch state {
        case .prospective(let prospective):
            preVote = true
            candidateEpoch = prospective.epoch + 1
            answered = prospective.granted.union(prospective.rejected)
        case .candidate(let candidate):
            preVote = false
            candidateEpoch = candidate.epoch
            answered = candidate.granted.union(candidate.rejected)
        default:
            return
        }
        let last = raftLog.lastOffsetAndEpoch
        for voter in otherVoterIDs where !answered.contains(voter) {
            guard requests.canSend(to: voter, now: now, requestTimeoutMs: configuration.requestTimeoutMs) else {
                continue
            }
            let voterDirectory = voterKey(of: voter)?.directoryID
            let correlationID = requests.record(.vote(preVote: preVote, epoch: state.epoch), to: voter, now: now)
            outputs.append(
                .send(
                    .voteRequest(
                        RaftMessage.VoteRequest(
                            correlationID: correlationID, clusterID: configuration.clusterID,
                            candidateEpoch: candidateEpoch, candidateID: configuration.nodeID,
                            candidateDirectoryID: configuration.directoryID, voterID: voter,
                            voterDirectoryID: voterDirectory, lastOffsetEpoch: last.epoch, lastOffset: last.offset,
                            preVote: preVote)),
                    to: voter))
        }
    }

    /// Timers of the electing roles: resend, give up the round, start the next one after the backoff.
    mutating func tickElection(into outputs: inout [RaftOutput]) {
        switch state {
        case .unattached(let unattached):
            if isVoter, now >= unattached.electionDeadline { startProspective(retries: 1, into: &outputs) }
        case .voted(let voted):
            if now >= voted.electionDeadline { startProspective(retries: 1, into: &outputs) }
        case .prospective(let prospective):
            if let until = prospective.backoffUntil {
                if now >= until { startProspective(retries: prospective.retries + 1, into: &outputs) }
            } else if now >= prospective.electionDeadline {
                loseProspectiveRound(into: &outputs)
            } else {
                sendVoteRequests(into: &outputs)
            }
        case .candidate(var candidate):
            if let until = candidate.backoffUntil {
                // After a lost election, ask again with pre-vote first so that a partitioned node cannot disrupt.
                if now >= until { startProspective(retries: candidate.retries + 1, into: &outputs) }
            } else if now >= candidate.electionDeadline {
                candidate.backoffUntil = now + electionBackoff(retries: candidate.retries)
                update(.candidate(candidate))
            } else {
                sendVoteRequests(into: &outputs)
            }
        default:
            break
        }
    }

    /// Kafka's binary exponential election backoff: 100 ms × a random value below 2^retries, capped at
    /// `electionBackoffMaxMs`.
    mutating func electionBackoff(retries: Int) -> Int64 {
        let bound = Int64(2) << Int64(min(20, max(retries, 1) - 1))
        return min(Self.electionBackoffBaseMs * random.next(below: bound), configuration.electionBackoffMaxMs)
    }

    /// Kafka's strict exponential backoff for a resigned leader's preferred successors: the first starts at once,
    /// later ones wait longer the lower they rank, others wait the maximum.
    func preferredSuccessorBackoff(position: Int?, count: Int) -> Int64 {
        let maximum = configuration.electionBackoffMaxMs
        guard let position, position < count else { return maximum }
        if position == 0 { return 0 }
        let base = maximum >> Int64(count - 1)
        return min(maximum, base << Int64(position - 1))
    }
}
