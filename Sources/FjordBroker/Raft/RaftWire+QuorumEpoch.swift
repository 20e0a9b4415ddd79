import FjordRaft
import KafkaProtocol

/// BeginQuorumEpoch (API 53) and EndQuorumEpoch (API 54). Leader endpoints (v1) are not sent: Fjord's voters know
/// each other's controller listeners from `controller.quorum.voters` or the voter set.
extension RaftWire {
    static func wire(_ request: RaftMessage.BeginQuorumEpochRequest) -> BeginQuorumEpochRequest {
        BeginQuorumEpochRequest(
            clusterID: request.clusterID, voterID: request.voterID,
            topics: [
                BeginQuorumEpochRequest.TopicData(
                    topicName: topicName,
                    partitions: [
                        BeginQuorumEpochRequest.PartitionData(
                            partitionIndex: partitionIndex, voterDirectoryID: request.voterDirectoryID ?? .zero,
                            leaderID: request.leaderID, leaderEpoch: request.leaderEpoch)
                    ])
            ])
    }

    static func message(_ request: BeginQuorumEpochRequest, correlationID: Int32) throws(Refusal)
        -> RaftMessage.BeginQuorumEpochRequest
    {
        let partition = try onlyPartition(
            topics: request.topics.map { ($0.topicName, $0.partitions) }, index: \.partitionIndex)
        return RaftMessage.BeginQuorumEpochRequest(
            correlationID: correlationID, clusterID: request.clusterID, voterID: request.voterID,
            voterDirectoryID: directoryID(partition.voterDirectoryID), leaderID: partition.leaderID,
            leaderEpoch: partition.leaderEpoch)
    }

    static func wire(_ response: RaftMessage.BeginQuorumEpochResponse) -> BeginQuorumEpochResponse {
        guard response.errorCode == .none else {
            return BeginQuorumEpochResponse(errorCode: response.errorCode.rawValue)
        }
        return beginQuorumEpochAnswer(
            response.partitionErrorCode, leaderID: response.leaderID, leaderEpoch: response.leaderEpoch)
    }

    static func beginQuorumEpochAnswer(_ code: ErrorCode, leaderID: NodeID?, leaderEpoch: Int32)
        -> BeginQuorumEpochResponse
    {
        BeginQuorumEpochResponse(
            topics: [
                BeginQuorumEpochResponse.TopicData(
                    topicName: topicName,
                    partitions: [
                        BeginQuorumEpochResponse.PartitionData(
                            partitionIndex: partitionIndex, errorCode: code.rawValue, leaderID: leaderID ?? -1,
                            leaderEpoch: leaderEpoch)
                    ])
            ])
    }

    static func message(_ response: BeginQuorumEpochResponse, correlationID: Int32)
        -> RaftMessage.BeginQuorumEpochResponse
    {
        guard let partition = response.topics.first?.partitions.first else {
            return RaftMessage.BeginQuorumEpochResponse(
                correlationID: correlationID, errorCode: refusedCode(response.errorCode), leaderID: nil,
                leaderEpoch: -1)
        }
        return RaftMessage.BeginQuorumEpochResponse(
            correlationID: correlationID, errorCode: ErrorCode(rawValue: response.errorCode),
            partitionErrorCode: ErrorCode(rawValue: partition.errorCode), leaderID: nodeID(partition.leaderID),
            leaderEpoch: partition.leaderEpoch)
    }

    static func beginQuorumEpochRefusal(_ refusal: Refusal) -> BeginQuorumEpochResponse {
        switch refusal {
        case .topLevel(let code): BeginQuorumEpochResponse(errorCode: code.rawValue)
        case .partition(let code): beginQuorumEpochAnswer(code, leaderID: nil, leaderEpoch: -1)
        }
    }

    static func wire(_ request: RaftMessage.EndQuorumEpochRequest) -> EndQuorumEpochRequest {
        EndQuorumEpochRequest(
            clusterID: request.clusterID,
            topics: [
                EndQuorumEpochRequest.TopicData(
                    topicName: topicName,
                    partitions: [
                        EndQuorumEpochRequest.PartitionData(
                            partitionIndex: partitionIndex, leaderID: request.leaderID,
                            leaderEpoch: request.leaderEpoch, preferredSuccessors: request.preferredSuccessors,
                            preferredCandidates: request.preferredCandidates.map {
                                EndQuorumEpochRequest.ReplicaInfo(
                                    candidateID: $0.id, candidateDirectoryID: $0.wireDirectoryID)
                            })
                    ])
            ])
    }

    /// v0 names the successors by id only (`PreferredSuccessors`), v1 by replica key (`PreferredCandidates`).
    static func message(_ request: EndQuorumEpochRequest, correlationID: Int32, version: Int16) throws(Refusal)
        -> RaftMessage.EndQuorumEpochRequest
    {
        let partition = try onlyPartition(
            topics: request.topics.map { ($0.topicName, $0.partitions) }, index: \.partitionIndex)
        let candidates =
            version >= 1
            ? partition.preferredCandidates.map {
                ReplicaKey(id: $0.candidateID, wireDirectoryID: $0.candidateDirectoryID)
            }
            : partition.preferredSuccessors.map { ReplicaKey(id: $0) }
        return RaftMessage.EndQuorumEpochRequest(
            correlationID: correlationID, clusterID: request.clusterID, leaderID: partition.leaderID,
            leaderEpoch: partition.leaderEpoch, preferredCandidates: candidates)
    }

    static func wire(_ response: RaftMessage.EndQuorumEpochResponse) -> EndQuorumEpochResponse {
        guard response.errorCode == .none else { return EndQuorumEpochResponse(errorCode: response.errorCode.rawValue) }
        return endQuorumEpochAnswer(
            response.partitionErrorCode, leaderID: response.leaderID, leaderEpoch: response.leaderEpoch)
    }

    static func endQuorumEpochAnswer(_ code: ErrorCode, leaderID: NodeID?, leaderEpoch: Int32)
        -> EndQuorumEpochResponse
    {
        EndQuorumEpochResponse(
            topics: [
                EndQuorumEpochResponse.TopicData(
                    topicName: topicName,
                    partitions: [
                        EndQuorumEpochResponse.PartitionData(
                            partitionIndex: partitionIndex, errorCode: code.rawValue, leaderID: leaderID ?? -1,
                            leaderEpoch: leaderEpoch)
                    ])
            ])
    }

    static func message(_ response: EndQuorumEpochResponse, correlationID: Int32)
        -> RaftMessage.EndQuorumEpochResponse
    {
        guard let partition = response.topics.first?.partitions.first else {
            return RaftMessage.EndQuorumEpochResponse(
                correlationID: correlationID, errorCode: refusedCode(response.errorCode), leaderID: nil,
                leaderEpoch: -1)
        }
        return RaftMessage.EndQuorumEpochResponse(
            correlationID: correlationID, errorCode: ErrorCode(rawValue: response.errorCode),
            partitionErrorCode: ErrorCode(rawValue: partition.errorCode), leaderID: nodeID(partition.leaderID),
            leaderEpoch: partition.leaderEpoch)
    }

    static func endQuorumEpochRefusal(_ refusal: Refusal) -> EndQuorumEpochResponse {
        switch refusal {
        case .topLevel(let code): EndQuorumEpochResponse(errorCode: code.rawValue)
        case .partition(let code): endQuorumEpochAnswer(code, leaderID: nil, leaderEpoch: -1)
        }
    }
}
