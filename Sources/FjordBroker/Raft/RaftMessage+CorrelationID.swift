import FjordRaft

extension RaftMessage {
    /// The same message with another header correlation id: the driver gives inbound requests ids unique to it so
    /// that the core's answer finds its connection, and gives the answer back the id its sender used.
    func withCorrelationID(_ id: Int32) -> RaftMessage {
        switch self {
        case .voteRequest(var message):
            message.correlationID = id
            return .voteRequest(message)
        case .voteResponse(var message):
            message.correlationID = id
            return .voteResponse(message)
        case .beginQuorumEpochRequest(var message):
            message.correlationID = id
            return .beginQuorumEpochRequest(message)
        case .beginQuorumEpochResponse(var message):
            message.correlationID = id
            return .beginQuorumEpochResponse(message)
        case .endQuorumEpochRequest(var message):
            message.correlationID = id
            return .endQuorumEpochRequest(message)
        case .endQuorumEpochResponse(var message):
            message.correlationID = id
            return .endQuorumEpochResponse(message)
        case .fetchRequest(var message):
            message.correlationID = id
            return .fetchRequest(message)
        case .fetchResponse(var message):
            message.correlationID = id
            return .fetchResponse(message)
        case .fetchSnapshotRequest(var message):
            message.correlationID = id
            return .fetchSnapshotRequest(message)
        case .fetchSnapshotResponse(var message):
            message.correlationID = id
            return .fetchSnapshotResponse(message)
        case .addRaftVoterRequest(var message):
            message.correlationID = id
            return .addRaftVoterRequest(message)
        case .addRaftVoterResponse(var message):
            message.correlationID = id
            return .addRaftVoterResponse(message)
        case .removeRaftVoterRequest(var message):
            message.correlationID = id
            return .removeRaftVoterRequest(message)
        case .removeRaftVoterResponse(var message):
            message.correlationID = id
            return .removeRaftVoterResponse(message)
        case .updateRaftVoterRequest(var message):
            message.correlationID = id
            return .updateRaftVoterRequest(message)
        case .updateRaftVoterResponse(var message):
            message.correlationID = id
            return .updateRaftVoterResponse(message)
        }
    }
}
