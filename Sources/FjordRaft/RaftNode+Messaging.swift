import KafkaProtocol

extension ErrorCode {
    /// INVALID_VOTER_KEY (KIP-853): the request names a voter key that is not the receiver's.
    public static let invalidVoterKey = ErrorCode(rawValue: 125)
    /// DUPLICATE_VOTER (KIP-853): AddRaftVoter of a replica already in the voter set.
    public static let duplicateVoter = ErrorCode(rawValue: 126)
    /// VOTER_NOT_FOUND (KIP-853): the replica is not in the voter set.
    public static let voterNotFound = ErrorCode(rawValue: 127)
}

/// Dispatch of received messages and what every handler shares: the cluster-id check, moving to a higher epoch a
/// peer revealed.
extension RaftNode {
    mutating func onReceive(_ message: RaftMessage, from sender: NodeID, into outputs: inout [RaftOutput]) {
        // A node never talks to itself: such a message is a driver bug or a spoof; either way it is not a peer's.
        guard sender != configuration.nodeID else { return }
        switch message {
        case .voteRequest(let request): handleVoteRequest(request, from: sender, into: &outputs)
        case .voteResponse(let response): handleVoteResponse(response, from: sender, into: &outputs)
        case .beginQuorumEpochRequest(let request): handleBeginQuorumEpoch(request, from: sender, into: &outputs)
        case .beginQuorumEpochResponse(let response):
            handleQuorumEpochResponse(
                response.correlationID, response.errorCode, response.leaderID, response.leaderEpoch, from: sender,
                into: &outputs)
        case .endQuorumEpochRequest(let request): handleEndQuorumEpoch(request, from: sender, into: &outputs)
        case .endQuorumEpochResponse(let response):
            handleQuorumEpochResponse(
                response.correlationID, response.errorCode, response.leaderID, response.leaderEpoch, from: sender,
                into: &outputs)
        case .fetchRequest(let request): handleFetchRequest(request, from: sender, into: &outputs)
        case .fetchResponse(let response): handleFetchResponse(response, from: sender, into: &outputs)
        case .fetchSnapshotRequest(let request): handleFetchSnapshotRequest(request, from: sender, into: &outputs)
        case .fetchSnapshotResponse(let response): handleFetchSnapshotResponse(response, from: sender, into: &outputs)
        case .addRaftVoterRequest(let request): handleAddVoter(request, from: sender, into: &outputs)
        case .removeRaftVoterRequest(let request): handleRemoveVoter(request, from: sender, into: &outputs)
        case .updateRaftVoterRequest(let request): handleUpdateVoter(request, from: sender, into: &outputs)
        case .addRaftVoterResponse, .removeRaftVoterResponse, .updateRaftVoterResponse:
            // This core never sends voter changes (the admin client and the driver do): nothing to match.
            break
        }
    }

    /// A request that failed without an answer: over, and its destination backs off as after an error answer.
    /// A failure of an older request (already answered, timed out and resent, or forgotten by a role change) is
    /// ignored.
    mutating func onRequestFailed(to node: NodeID, correlationID: Int32, into outputs: inout [RaftOutput]) {
        guard let kind = requests.complete(from: node, correlationID: correlationID) else { return }
        switch kind {
        case .fetch, .fetchSnapshot:
            backOffFetching(from: node)
        case .vote, .beginQuorumEpoch, .endQuorumEpoch:
            requests.backOff(node, until: now + configuration.retryBackoffMs)
        }
    }

    /// Requests carry the cluster id; nil (older versions) is accepted, as Kafka does.
    func clusterMatches(_ clusterID: String?) -> Bool {
        clusterID == nil || clusterID == configuration.clusterID
    }

    /// A peer showed `epoch`, above ours: follow `leader` if it named one, else wait unattached in that epoch.
    mutating func adoptHigherEpoch(_ epoch: Int32, leader: NodeID?, into outputs: inout [RaftOutput]) {
        precondition(epoch > state.epoch, "adoptHigherEpoch(\(epoch)) at epoch \(state.epoch)")
        if let leader, leader != configuration.nodeID {
            becomeFollower(epoch: epoch, leader: leader, into: &outputs)
        } else {
            let deadline = now + randomElectionTimeout()
            transition(to: .unattached(UnattachedState(epoch: epoch, electionDeadline: deadline)), into: &outputs)
        }
    }

    /// Follows `leader` in `epoch` (ours or higher) and starts fetching from it. Nothing happens when this node
    /// already follows it.
    mutating func becomeFollower(epoch: Int32, leader: NodeID, into outputs: inout [RaftOutput]) {
        precondition(leader != configuration.nodeID, "a node cannot follow itself")
        if case .follower(let follower) = state, follower.epoch == epoch, follower.leaderID == leader { return }
        let follower = FollowerState(
            epoch: epoch, leaderID: leader, fetchDeadline: now + configuration.fetchTimeoutMs, lastLeaderContact: nil,
            snapshotDownload: nil, backoffUntil: nil)
        transition(to: .follower(follower), into: &outputs)
        maybeSendFetch(into: &outputs)
    }

    /// Votes needed to win: a strict majority of the voter set.
    var majority: Int { voterSet.count / 2 + 1 }

    /// The voters other than this node, in id order (so that sends are deterministic).
    var otherVoterIDs: [NodeID] {
        voterSet.map(\.id).filter { $0 != configuration.nodeID }.sorted()
    }

    func isVoter(_ key: ReplicaKey) -> Bool { voterSet.contains { $0.matches(key) } }

    func isVoter(id: NodeID) -> Bool { voterSet.contains { $0.id == id } }

    func voterKey(of id: NodeID) -> ReplicaKey? { voterSet.first { $0.id == id } }

    /// Who leads our epoch as far as this node knows, in a message's form.
    var currentLeaderAndEpoch: LeaderAndEpoch { LeaderAndEpoch(leaderID: leaderID, epoch: state.epoch) }
}
