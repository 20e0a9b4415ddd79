import FjordRaft
import KafkaProtocol
import NIOCore

/// FetchSnapshot (API 59): one chunk of a snapshot file, from `position`, at most `maxBytes`.
extension RaftWire {
    static func wire(_ request: RaftMessage.FetchSnapshotRequest) -> FetchSnapshotRequest {
        FetchSnapshotRequest(
            clusterID: request.clusterID, replicaID: request.replicaID, maxBytes: request.maxBytes,
            topics: [
                FetchSnapshotRequest.TopicSnapshot(
                    name: topicName,
                    partitions: [
                        FetchSnapshotRequest.PartitionSnapshot(
                            partition: partitionIndex, currentLeaderEpoch: request.currentLeaderEpoch,
                            snapshotID: FetchSnapshotRequest.SnapshotID(
                                endOffset: request.snapshotID.offset, epoch: request.snapshotID.epoch),
                            position: request.position, replicaDirectoryID: request.replicaDirectoryID ?? .zero)
                    ])
            ])
    }

    static func message(_ request: FetchSnapshotRequest, correlationID: Int32) throws(Refusal)
        -> RaftMessage.FetchSnapshotRequest
    {
        let partition = try onlyPartition(topics: request.topics.map { ($0.name, $0.partitions) }, index: \.partition)
        guard request.replicaID >= 0, partition.position >= 0, request.maxBytes > 0 else {
            throw .topLevel(.invalidRequest)
        }
        return RaftMessage.FetchSnapshotRequest(
            correlationID: correlationID, clusterID: request.clusterID, replicaID: request.replicaID,
            replicaDirectoryID: directoryID(partition.replicaDirectoryID), maxBytes: request.maxBytes,
            currentLeaderEpoch: partition.currentLeaderEpoch,
            snapshotID: OffsetAndEpoch(offset: partition.snapshotID.endOffset, epoch: partition.snapshotID.epoch),
            position: partition.position)
    }

    static func wire(_ response: RaftMessage.FetchSnapshotResponse) -> FetchSnapshotResponse {
        guard response.errorCode == .none else { return FetchSnapshotResponse(errorCode: response.errorCode.rawValue) }
        return FetchSnapshotResponse(
            topics: [
                FetchSnapshotResponse.TopicSnapshot(
                    name: topicName,
                    partitions: [
                        FetchSnapshotResponse.PartitionSnapshot(
                            index: partitionIndex, errorCode: response.partitionErrorCode.rawValue,
                            snapshotID: FetchSnapshotResponse.SnapshotID(
                                endOffset: response.snapshotID.offset, epoch: response.snapshotID.epoch),
                            currentLeader: FetchSnapshotResponse.LeaderIDAndEpoch(
                                leaderID: response.currentLeader.leaderID ?? -1,
                                leaderEpoch: response.currentLeader.epoch),
                            size: response.size, position: response.position,
                            unalignedRecords: response.unalignedRecords)
                    ])
            ])
    }

    static func message(_ response: FetchSnapshotResponse, correlationID: Int32) -> RaftMessage.FetchSnapshotResponse {
        guard let partition = response.topics.first?.partitions.first else {
            return RaftMessage.FetchSnapshotResponse(
                correlationID: correlationID, errorCode: refusedCode(response.errorCode),
                snapshotID: OffsetAndEpoch(offset: -1, epoch: -1),
                currentLeader: LeaderAndEpoch(leaderID: nil, epoch: -1),
                size: -1, position: -1, unalignedRecords: ByteBuffer())
        }
        return RaftMessage.FetchSnapshotResponse(
            correlationID: correlationID, errorCode: ErrorCode(rawValue: response.errorCode),
            partitionErrorCode: ErrorCode(rawValue: partition.errorCode),
            snapshotID: OffsetAndEpoch(offset: partition.snapshotID.endOffset, epoch: partition.snapshotID.epoch),
            currentLeader: LeaderAndEpoch(
                leaderID: nodeID(partition.currentLeader.leaderID), epoch: partition.currentLeader.leaderEpoch),
            size: partition.size, position: partition.position, unalignedRecords: partition.unalignedRecords)
    }

    static func fetchSnapshotRefusal(_ refusal: Refusal) -> FetchSnapshotResponse {
        switch refusal {
        case .topLevel(let code): return FetchSnapshotResponse(errorCode: code.rawValue)
        case .partition(let code):
            return FetchSnapshotResponse(
                topics: [
                    FetchSnapshotResponse.TopicSnapshot(
                        name: topicName,
                        partitions: [
                            FetchSnapshotResponse.PartitionSnapshot(
                                index: partitionIndex, errorCode: code.rawValue,
                                currentLeader: FetchSnapshotResponse.LeaderIDAndEpoch(leaderID: -1, leaderEpoch: -1))
                        ])
                ])
        }
    }
}
