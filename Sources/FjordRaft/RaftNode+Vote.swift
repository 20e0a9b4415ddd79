import KafkaProtocol

/// Vote (API 52) on both sides, with KIP-996 pre-vote.
extension RaftNode {
    mutating func handleVoteRequest(
        _ request: RaftMessage.VoteRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        func answer(_ node: RaftNode, _ error: ErrorCode, _ partitionError: ErrorCode, _ granted: Bool) -> RaftOutput {
            .send(
                .voteResponse(
                    RaftMessage.VoteResponse(
                        correlationID: request.correlationID, errorCode: error, partitionErrorCode: partitionError,
                        leaderID: node.leaderID, leaderEpoch: node.state.epoch, voteGranted: granted)),
                to: sender)
        }
        guard clusterMatches(request.clusterID) else {
            outputs.append(answer(self, .inconsistentClusterID, .none, false))
            return
        }
        let addressedToMe =
            request.voterID == configuration.nodeID
            && (request.voterDirectoryID == nil || request.voterDirectoryID == configuration.directoryID)
        guard addressedToMe, request.candidateID == sender else {
            outputs.append(answer(self, .none, .invalidVoterKey, false))
            return
        }
        guard request.candidateEpoch >= state.epoch else {
            outputs.append(answer(self, .none, .fencedLeaderEpoch, false))
            return
        }
        if request.preVote {
            // Pre-vote changes nothing here: no epoch bump, no vote recorded, nothing persisted.
            outputs.append(answer(self, .none, .none, canGrantPreVote(request)))
            return
        }
        if request.candidateEpoch > state.epoch {
            adoptHigherEpoch(request.candidateEpoch, leader: nil, into: &outputs)
        }
        let granted = canGrantVote(request)
        if granted, votedKey == nil {
            // Persisted (the transition emits `.persistQuorumState`) before the grant below is sent.
            let voted = VotedState(
                epoch: state.epoch, votedKey: request.candidateKey, electionDeadline: now + randomElectionTimeout())
            transition(to: .voted(voted), into: &outputs)
        }
        outputs.append(answer(self, .none, .none, granted))
    }

    /// Whether a (real) vote for the request's candidate may be granted in our epoch, which equals its epoch here.
    private func canGrantVote(_ request: RaftMessage.VoteRequest) -> Bool {
        guard isVoter, isVoter(request.candidateKey) else { return false }
        guard request.lastOffsetAndEpoch >= raftLog.lastOffsetAndEpoch else { return false }
        switch state {
        case .unattached:
            return true
        case .voted(let voted):
            return voted.votedKey.matches(request.candidateKey)
        case .prospective(let prospective):
            if let voted = prospective.retained.votedKey { return voted.matches(request.candidateKey) }
            return prospective.retained.leaderID == nil
        case .candidate, .leader, .resigned, .follower:
            return false
        }
    }

    /// Whether this voter would vote for the candidate at `candidateEpoch` (KIP-996): no if it leads, or if it
    /// follows a leader it fetched from within the fetch timeout; otherwise if the candidate's log is at least as
    /// up to date as ours.
    private func canGrantPreVote(_ request: RaftMessage.VoteRequest) -> Bool {
        guard isVoter, isVoter(request.candidateKey) else { return false }
        switch state {
        case .leader:
            return false
        case .follower(let follower):
            if let contact = follower.lastLeaderContact, now - contact < configuration.fetchTimeoutMs { return false }
        case .unattached, .voted, .prospective, .candidate, .resigned:
            break
        }
        return request.lastOffsetAndEpoch >= raftLog.lastOffsetAndEpoch
    }

    mutating func handleVoteResponse(
        _ response: RaftMessage.VoteResponse, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        guard let kind = requests.complete(from: sender, correlationID: response.correlationID),
            case .vote(let preVote, let requestEpoch) = kind
        else { return }
        guard response.errorCode == .none else {
            requests.backOff(sender, until: now + configuration.retryBackoffMs)
            return
        }
        if response.leaderEpoch > state.epoch {
            adoptHigherEpoch(response.leaderEpoch, leader: response.leaderID, into: &outputs)
            return
        }
        guard requestEpoch == state.epoch else { return }
        if response.leaderEpoch == state.epoch, let leader = response.leaderID, leader != configuration.nodeID,
            leader != leaderID
        {
            // The voter knows a leader of our epoch we did not: stop campaigning and follow it. (A prospective that
            // lost contact with its own leader hears that leader's name from voters that remember it: no news.)
            switch state {
            case .prospective, .candidate: becomeFollower(epoch: state.epoch, leader: leader, into: &outputs)
            default: break
            }
            return
        }
        if response.partitionErrorCode != .none {
            requests.backOff(sender, until: now + configuration.retryBackoffMs)
            return
        }
        switch state {
        case .prospective(var prospective) where preVote && prospective.backoffUntil == nil:
            record(response.voteGranted, from: sender, granted: &prospective.granted, rejected: &prospective.rejected)
            update(.prospective(prospective))
            evaluateProspective(into: &outputs)
        case .candidate(var candidate) where !preVote && candidate.backoffUntil == nil:
            record(response.voteGranted, from: sender, granted: &candidate.granted, rejected: &candidate.rejected)
            update(.candidate(candidate))
            evaluateCandidate(into: &outputs)
        default:
            break
        }
    }

    private func record(
        _ granted: Bool, from voter: NodeID, granted grants: inout Set<NodeID>,
        rejected rejections: inout Set<NodeID>
    ) {
        guard isVoter(id: voter) else { return }
        if granted { grants.insert(voter) } else { rejections.insert(voter) }
    }
}
