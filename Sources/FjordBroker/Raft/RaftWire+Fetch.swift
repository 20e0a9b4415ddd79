import FjordRaft
import KafkaProtocol
import NIOCore

/// Fetch (API 1) of `__cluster_metadata` partition 0 between controllers, and from brokers (observers) to them. The
/// topic is named by id from v13 (`topicID`, Kafka's fixed metadata topic id), by name before; the fetching replica
/// by `ReplicaState` from v15, by the top-level `ReplicaId` before. Records are the batches as Kafka record batches
/// (`RaftBatchCodec`).
extension RaftWire {
    static func wire(_ request: RaftMessage.FetchRequest) -> FetchRequest {
        FetchRequest(
            clusterID: request.clusterID, replicaID: request.replicaID,
            replicaState: FetchRequest.ReplicaState(replicaID: request.replicaID, replicaEpoch: request.replicaEpoch),
            maxWaitMs: request.maxWaitMs, minBytes: 0, maxBytes: request.maxBytes, isolationLevel: 0, sessionID: 0,
            sessionEpoch: -1,
            topics: [
                FetchRequest.FetchTopic(
                    topic: topicName, topicID: topicID,
                    partitions: [
                        FetchRequest.FetchPartition(
                            partition: partitionIndex, currentLeaderEpoch: request.currentLeaderEpoch,
                            fetchOffset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch,
                            logStartOffset: request.logStartOffset, partitionMaxBytes: request.maxBytes,
                            replicaDirectoryID: request.replicaDirectoryID ?? .zero)
                    ])
            ])
    }

    static func message(_ request: FetchRequest, correlationID: Int32, version: Int16) throws(Refusal)
        -> RaftMessage.FetchRequest
    {
        guard request.topics.count == 1, request.topics[0].partitions.count == 1 else {
            throw .topLevel(.invalidRequest)
        }
        let topic = request.topics[0]
        let partition = topic.partitions[0]
        let named = version >= 13 ? topic.topicID == topicID : topic.topic == topicName
        guard named, partition.partition == partitionIndex else { throw .partition(.unknownTopicOrPartition) }
        let replicaID = version >= 15 ? request.replicaState.replicaID : request.replicaID
        guard replicaID >= 0 else { throw .topLevel(.invalidRequest) }
        return RaftMessage.FetchRequest(
            correlationID: correlationID, clusterID: request.clusterID, replicaID: replicaID,
            replicaEpoch: request.replicaState.replicaEpoch,
            replicaDirectoryID: directoryID(partition.replicaDirectoryID),
            maxWaitMs: request.maxWaitMs, maxBytes: min(request.maxBytes, partition.partitionMaxBytes),
            currentLeaderEpoch: partition.currentLeaderEpoch, fetchOffset: partition.fetchOffset,
            lastFetchedEpoch: partition.lastFetchedEpoch, logStartOffset: partition.logStartOffset)
    }

    static func wire(_ response: RaftMessage.FetchResponse) throws(RaftDriverError) -> FetchResponse {
        guard response.errorCode == .none else { return FetchResponse(errorCode: response.errorCode.rawValue) }
        var partition = FetchResponse.PartitionData(
            partitionIndex: partitionIndex, errorCode: response.partitionErrorCode.rawValue,
            highWatermark: response.highWatermark, lastStableOffset: response.highWatermark,
            logStartOffset: response.logStartOffset,
            currentLeader: FetchResponse.LeaderIDAndEpoch(
                leaderID: response.currentLeader.leaderID ?? -1, leaderEpoch: response.currentLeader.epoch),
            records: try RaftBatchCodec.encode(response.batches))
        if let diverging = response.divergingEpoch {
            partition.divergingEpoch = FetchResponse.EpochEndOffset(epoch: diverging.epoch, endOffset: diverging.offset)
        }
        if let snapshot = response.snapshotID {
            partition.snapshotID = FetchResponse.SnapshotID(endOffset: snapshot.offset, epoch: snapshot.epoch)
        }
        return FetchResponse(responses: [fetchTopic(partition)])
    }

    private static func fetchTopic(_ partition: FetchResponse.PartitionData) -> FetchResponse.FetchableTopicResponse {
        FetchResponse.FetchableTopicResponse(topic: topicName, topicID: topicID, partitions: [partition])
    }

    static func message(_ response: FetchResponse, correlationID: Int32) throws(RaftDriverError)
        -> RaftMessage.FetchResponse
    {
        guard let partition = response.responses.first?.partitions.first else {
            return RaftMessage.FetchResponse(
                correlationID: correlationID, errorCode: refusedCode(response.errorCode), highWatermark: -1,
                logStartOffset: -1, currentLeader: LeaderAndEpoch(leaderID: nil, epoch: -1))
        }
        let diverging = partition.divergingEpoch
        let snapshot = partition.snapshotID
        return RaftMessage.FetchResponse(
            correlationID: correlationID, errorCode: ErrorCode(rawValue: response.errorCode),
            partitionErrorCode: ErrorCode(rawValue: partition.errorCode), highWatermark: partition.highWatermark,
            logStartOffset: partition.logStartOffset,
            divergingEpoch: diverging.epoch >= 0 && diverging.endOffset >= 0
                ? OffsetAndEpoch(offset: diverging.endOffset, epoch: diverging.epoch) : nil,
            currentLeader: LeaderAndEpoch(
                leaderID: nodeID(partition.currentLeader.leaderID), epoch: partition.currentLeader.leaderEpoch),
            snapshotID: snapshot.epoch >= 0 && snapshot.endOffset >= 0
                ? OffsetAndEpoch(offset: snapshot.endOffset, epoch: snapshot.epoch) : nil,
            batches: try RaftBatchCodec.decodeAll(partition.records ?? ByteBuffer(), source: "Fetch response"))
    }

    static func fetchRefusal(_ refusal: Refusal) -> FetchResponse {
        switch refusal {
        case .topLevel(let code): return FetchResponse(errorCode: code.rawValue)
        case .partition(let code):
            return FetchResponse(
                responses: [
                    fetchTopic(FetchResponse.PartitionData(partitionIndex: partitionIndex, errorCode: code.rawValue))
                ])
        }
    }
}
