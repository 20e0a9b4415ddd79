import KafkaProtocol

/// BeginQuorumEpoch (API 53) and EndQuorumEpoch (API 54) on the receiving side, and their answers.
extension RaftNode {
    mutating func handleBeginQuorumEpoch(
        _ request: RaftMessage.BeginQuorumEpochRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        func answer(_ node: RaftNode, _ error: ErrorCode, _ partitionError: ErrorCode) -> RaftOutput {
            .send(
                .beginQuorumEpochResponse(
                    RaftMessage.BeginQuorumEpochResponse(
                        correlationID: request.correlationID, errorCode: error, partitionErrorCode: partitionError,
                        leaderID: node.leaderID, leaderEpoch: node.state.epoch)),
                to: sender)
        }
        let isForThisVoter =
            request.voterID == configuration.nodeID
            && (request.voterDirectoryID == nil || request.voterDirectoryID == configuration.directoryID)
        if let (error, partitionError) = leaderAnnouncementRefusal(
            clusterID: request.clusterID, leaderID: request.leaderID, leaderEpoch: request.leaderEpoch, from: sender,
            isForThisVoter: isForThisVoter)
        {
            outputs.append(answer(self, error, partitionError))
            return
        }
        // Our epoch or a higher one: follow the announced leader (a second leader of our epoch is a precondition
        // failure in the transition).
        becomeFollower(epoch: request.leaderEpoch, leader: request.leaderID, into: &outputs)
        outputs.append(answer(self, .none, .none))
    }

    mutating func handleEndQuorumEpoch(
        _ request: RaftMessage.EndQuorumEpochRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        func answer(_ node: RaftNode, _ error: ErrorCode, _ partitionError: ErrorCode) -> RaftOutput {
            .send(
                .endQuorumEpochResponse(
                    RaftMessage.EndQuorumEpochResponse(
                        correlationID: request.correlationID, errorCode: error, partitionErrorCode: partitionError,
                        leaderID: node.leaderID, leaderEpoch: node.state.epoch)),
                to: sender)
        }
        if let (error, partitionError) = leaderAnnouncementRefusal(
            clusterID: request.clusterID, leaderID: request.leaderID, leaderEpoch: request.leaderEpoch, from: sender)
        {
            outputs.append(answer(self, error, partitionError))
            return
        }
        if request.leaderEpoch > state.epoch {
            adoptHigherEpoch(request.leaderEpoch, leader: nil, into: &outputs)
        }
        // The more caught up we are in the resigning leader's ranking, the sooner we stand (KIP-595).
        let position = request.preferredCandidates.firstIndex { $0.matches(configuration.localKey) }
        let deadline = now + preferredSuccessorBackoff(position: position, count: request.preferredCandidates.count)
        switch state {
        case .follower(var follower) where follower.leaderID == request.leaderID:
            follower.fetchDeadline = min(follower.fetchDeadline, deadline)
            // The leader said it is gone: its last fetch no longer counts against pre-votes.
            follower.lastLeaderContact = nil
            follower.leaderResigned = true
            update(.follower(follower))
        case .unattached(var unattached):
            unattached.electionDeadline = min(unattached.electionDeadline, deadline)
            update(.unattached(unattached))
        case .voted(var voted):
            voted.electionDeadline = min(voted.electionDeadline, deadline)
            update(.voted(voted))
        default:
            break
        }
        outputs.append(answer(self, .none, .none))
    }

    /// The checks BeginQuorumEpoch and EndQuorumEpoch both start with, in Kafka's order: the cluster id
    /// (INCONSISTENT_CLUSTER_ID at the top level), the addressed voter (INVALID_VOTER_KEY; BeginQuorumEpoch only),
    /// the announcing leader is the sender (INVALID_REQUEST), its epoch is not older than ours
    /// (FENCED_LEADER_EPOCH). Nil when the announcement is to be acted on; else (top-level, partition) error codes.
    func leaderAnnouncementRefusal(
        clusterID: String?, leaderID: NodeID, leaderEpoch: Int32, from sender: NodeID, isForThisVoter: Bool = true
    ) -> (ErrorCode, ErrorCode)? {
        guard clusterMatches(clusterID) else { return (.inconsistentClusterID, .none) }
        guard isForThisVoter else { return (.none, .invalidVoterKey) }
        guard leaderID == sender else { return (.none, .invalidRequest) }
        guard leaderEpoch >= state.epoch else { return (.none, .fencedLeaderEpoch) }
        return nil
    }

    /// Answers to BeginQuorumEpoch and EndQuorumEpoch: an acknowledgment, or a higher epoch to move to.
    mutating func handleQuorumEpochResponse(
        _ correlationID: Int32, _ error: ErrorCode, _ leader: NodeID?, _ leaderEpoch: Int32, from sender: NodeID,
        into outputs: inout [RaftOutput]
    ) {
        guard let kind = requests.complete(from: sender, correlationID: correlationID) else { return }
        guard error == .none else {
            requests.backOff(sender, until: now + configuration.retryBackoffMs)
            return
        }
        if leaderEpoch > state.epoch {
            adoptHigherEpoch(leaderEpoch, leader: leader, into: &outputs)
            return
        }
        switch (kind, state) {
        case (.beginQuorumEpoch(let epoch), .leader(var leaderState)) where epoch == leaderState.epoch:
            leaderState.unackedVoters.remove(sender)
            update(.leader(leaderState))
        case (.endQuorumEpoch(let epoch), .resigned(var resigned)) where epoch == resigned.epoch:
            resigned.unackedVoters.remove(sender)
            update(.resigned(resigned))
        default:
            break
        }
    }
}
