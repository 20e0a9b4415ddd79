import KafkaProtocol

/// Kafka's Raft RPCs as Swift values: each carries the fields of its Kafka JSON spec (for the one partition of
/// `__cluster_metadata`, with -1 ids as nil and records as `RaftBatch`es) so that a driver translates one-to-one.
/// `correlationID` is the request header's; a response echoes it, and the core ignores responses it did not expect.
public enum RaftMessage: Sendable, Equatable {
    /// Vote, API 52 (with KIP-996's `preVote`).
    case voteRequest(VoteRequest)
    case voteResponse(VoteResponse)
    /// BeginQuorumEpoch, API 53: a new leader announces itself to the voters.
    case beginQuorumEpochRequest(BeginQuorumEpochRequest)
    case beginQuorumEpochResponse(BeginQuorumEpochResponse)
    /// EndQuorumEpoch, API 54: a resigning leader names its preferred successors.
    case endQuorumEpochRequest(EndQuorumEpochRequest)
    case endQuorumEpochResponse(EndQuorumEpochResponse)
    /// Fetch, API 1, on `__cluster_metadata`: followers and observers pull the log from the leader.
    case fetchRequest(FetchRequest)
    case fetchResponse(FetchResponse)
    /// FetchSnapshot, API 59: a replica too far behind pulls the leader's snapshot in chunks.
    case fetchSnapshotRequest(FetchSnapshotRequest)
    case fetchSnapshotResponse(FetchSnapshotResponse)
    /// AddRaftVoter, RemoveRaftVoter, UpdateRaftVoter (APIs 80-82, KIP-853): voter changes, served by the leader.
    case addRaftVoterRequest(AddRaftVoterRequest)
    case addRaftVoterResponse(VoterChangeResponse)
    case removeRaftVoterRequest(RemoveRaftVoterRequest)
    case removeRaftVoterResponse(VoterChangeResponse)
    case updateRaftVoterRequest(UpdateRaftVoterRequest)
    case updateRaftVoterResponse(UpdateRaftVoterResponse)

    /// The header correlation id of the request or response.
    public var correlationID: Int32 {
        switch self {
        case .voteRequest(let message): message.correlationID
        case .voteResponse(let message): message.correlationID
        case .beginQuorumEpochRequest(let message): message.correlationID
        case .beginQuorumEpochResponse(let message): message.correlationID
        case .endQuorumEpochRequest(let message): message.correlationID
        case .endQuorumEpochResponse(let message): message.correlationID
        case .fetchRequest(let message): message.correlationID
        case .fetchResponse(let message): message.correlationID
        case .fetchSnapshotRequest(let message): message.correlationID
        case .fetchSnapshotResponse(let message): message.correlationID
        case .addRaftVoterRequest(let message): message.correlationID
        case .addRaftVoterResponse(let message): message.correlationID
        case .removeRaftVoterRequest(let message): message.correlationID
        case .removeRaftVoterResponse(let message): message.correlationID
        case .updateRaftVoterRequest(let message): message.correlationID
        case .updateRaftVoterResponse(let message): message.correlationID
        }
    }

    /// Whether this is a request (as opposed to a response).
    public var isRequest: Bool {
        switch self {
        case .voteRequest, .beginQuorumEpochRequest, .endQuorumEpochRequest, .fetchRequest, .fetchSnapshotRequest,
            .addRaftVoterRequest, .removeRaftVoterRequest, .updateRaftVoterRequest:
            true
        default:
            false
        }
    }
}
