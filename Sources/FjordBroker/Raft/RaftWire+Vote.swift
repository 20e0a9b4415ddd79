import FjordRaft
import KafkaProtocol
import NIOCore

/// Vote (API 52). The specs Fjord generates from stop at Vote v1, which has no `PreVote` field (KIP-996 added it in
/// v2): a pre-vote travels as tagged field 0 of the partition entry (one byte, 1), which a reader that does not know
/// it skips — so a pre-vote is never mistaken for a vote that would bump the voter's epoch.
extension RaftWire {
    static let preVoteTag: UInt32 = 0

    static func wire(_ request: RaftMessage.VoteRequest) -> VoteRequest {
        var partition = VoteRequest.PartitionData(
            partitionIndex: partitionIndex, candidateEpoch: request.candidateEpoch, candidateID: request.candidateID,
            candidateDirectoryID: request.candidateDirectoryID ?? .zero,
            voterDirectoryID: request.voterDirectoryID ?? .zero, lastOffsetEpoch: request.lastOffsetEpoch,
            lastOffset: request.lastOffset)
        if request.preVote {
            partition.unknownTaggedFields = [UnknownTaggedField(tag: preVoteTag, data: ByteBuffer(bytes: [1]))]
        }
        return VoteRequest(
            clusterID: request.clusterID, voterID: request.voterID,
            topics: [VoteRequest.TopicData(topicName: topicName, partitions: [partition])])
    }

    static func message(_ request: VoteRequest, correlationID: Int32) throws(Refusal) -> RaftMessage.VoteRequest {
        let partition = try onlyPartition(
            topics: request.topics.map { ($0.topicName, $0.partitions) }, index: \.partitionIndex)
        let preVote = partition.unknownTaggedFields.contains {
            $0.tag == preVoteTag && $0.data.readableBytes == 1
                && $0.data.getInteger(at: $0.data.readerIndex, as: UInt8.self) == 1
        }
        return RaftMessage.VoteRequest(
            correlationID: correlationID, clusterID: request.clusterID, candidateEpoch: partition.candidateEpoch,
            candidateID: partition.candidateID, candidateDirectoryID: directoryID(partition.candidateDirectoryID),
            voterID: request.voterID, voterDirectoryID: directoryID(partition.voterDirectoryID),
            lastOffsetEpoch: partition.lastOffsetEpoch, lastOffset: partition.lastOffset, preVote: preVote)
    }

    static func wire(_ response: RaftMessage.VoteResponse) -> VoteResponse {
        VoteResponse(
            errorCode: response.errorCode.rawValue,
            topics: response.errorCode != .none
                ? []
                : [
                    VoteResponse.TopicData(
                        topicName: topicName,
                        partitions: [
                            VoteResponse.PartitionData(
                                partitionIndex: partitionIndex, errorCode: response.partitionErrorCode.rawValue,
                                leaderID: response.leaderID ?? -1, leaderEpoch: response.leaderEpoch,
                                voteGranted: response.voteGranted)
                        ])
                ])
    }

    static func message(_ response: VoteResponse, correlationID: Int32) -> RaftMessage.VoteResponse {
        guard let partition = response.topics.first?.partitions.first else {
            return RaftMessage.VoteResponse(
                correlationID: correlationID, errorCode: refusedCode(response.errorCode), leaderID: nil,
                leaderEpoch: -1, voteGranted: false)
        }
        return RaftMessage.VoteResponse(
            correlationID: correlationID, errorCode: ErrorCode(rawValue: response.errorCode),
            partitionErrorCode: ErrorCode(rawValue: partition.errorCode), leaderID: nodeID(partition.leaderID),
            leaderEpoch: partition.leaderEpoch, voteGranted: partition.voteGranted)
    }

    /// The answer to a Vote the core cannot take (`refusal`).
    static func voteRefusal(_ refusal: Refusal) -> VoteResponse {
        switch refusal {
        case .topLevel(let code): return VoteResponse(errorCode: code.rawValue)
        case .partition(let code):
            return VoteResponse(
                topics: [
                    VoteResponse.TopicData(
                        topicName: topicName,
                        partitions: [
                            VoteResponse.PartitionData(errorCode: code.rawValue, leaderID: -1, leaderEpoch: -1)
                        ])
                ])
        }
    }

    /// A response without a partition entry must still say something went wrong, even if its top-level code is 0.
    static func refusedCode(_ wire: Int16) -> ErrorCode {
        wire == 0 ? .unknownServerError : ErrorCode(rawValue: wire)
    }
}
