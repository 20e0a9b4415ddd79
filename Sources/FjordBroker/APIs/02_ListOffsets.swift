// ListOffsets v1-v10. Earliest (-2), latest (-1: the high watermark, or the last stable offset for read_committed),
// max timestamp (-3, v7+), earliest local (-4, v8+: the log start, no tiered storage), latest tiered (-5, v9+:
// none, -1), and by timestamp: the first record at or after it. As in Kafka, lookups by time and max timestamp
// answer only offsets below the isolation level's bound (the last stable offset for read_committed), a special
// timestamp the version does not know is UNSUPPORTED_VERSION, and a partition listed twice is INVALID_REQUEST
// wherever it is listed. Answers carry the record's leader epoch (v4+).
import FjordSecurity
import FjordStorage
import KafkaProtocol
import NIOCore

/// Finds offsets by position or time in the partitions this broker leads.
struct ListOffsetsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 1...10
    /// Reads the log's leader epochs under its writer lock (held across appends) and may load a cold segment's
    /// time index: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    static let latest: Int64 = -1
    static let earliest: Int64 = -2
    static let maxTimestamp: Int64 = -3
    static let earliestLocal: Int64 = -4
    static let latestTiered: Int64 = -5

    /// The first version that knows each special timestamp (Kafka's `timestampMinSupportedVersion`).
    static let minimumVersions: [Int64: Int16] = [
        latest: 1, earliest: 1, maxTimestamp: 7, earliestLocal: 8, latestTiered: 9,
    ]

    func handle(_ request: ListOffsetsRequest, context: RequestContext) -> EventLoopFuture<ListOffsetsResponse> {
        var response = ListOffsetsResponse()
        var seen = Set<TopicPartition>()
        var duplicates = Set<TopicPartition>()
        for topic in request.topics {
            for partition in topic.partitions
            where !seen.insert(TopicPartition(topic.name, partition.partitionIndex)).inserted {
                duplicates.insert(TopicPartition(topic.name, partition.partitionIndex))
            }
        }
        for topic in request.topics {
            var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse(name: topic.name)
            // DESCRIBE on the topic, as Kafka checks it.
            let mayDescribe = services.authorize(context, .describe, .topic, topic.name)
            for partition in topic.partitions {
                let topicPartition = TopicPartition(topic.name, partition.partitionIndex)
                var answer = ListOffsetsResponse.ListOffsetsPartitionResponse(
                    partitionIndex: partition.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: -1)
                if !mayDescribe {
                    answer.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                } else if duplicates.contains(topicPartition) {
                    // Kafka rejects every entry of a partition listed twice
                    answer.errorCode = ErrorCode.invalidRequest.rawValue
                } else if partition.timestamp < 0,
                    context.apiVersion < Self.minimumVersions[partition.timestamp] ?? Int16.max
                {
                    answer.errorCode = ErrorCode.unsupportedVersion.rawValue
                } else {
                    answer = lookup(
                        partition, topicPartition: topicPartition, isolationLevel: request.isolationLevel,
                        fromReplica: request.replicaID >= 0)
                }
                topicResponse.partitions.append(answer)
            }
            response.topics.append(topicResponse)
        }
        return context.eventLoop.makeSucceededFuture(response)
    }

    /// `fromReplica`: a follower asking (ReplicaId ≥ 0), as Kafka answers it: no isolation, the latest offset is the
    /// log end (a follower resetting after OFFSET_OUT_OF_RANGE needs where the leader's log ends, not what is
    /// committed).
    private func lookup(
        _ partition: ListOffsetsRequest.ListOffsetsPartition, topicPartition: TopicPartition, isolationLevel: Int8,
        fromReplica: Bool
    ) -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        var answer = ListOffsetsResponse.ListOffsetsPartitionResponse(
            partitionIndex: partition.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: -1)
        guard let replica = services.replicas.replica(for: topicPartition) else {
            answer.errorCode = services.notHostedError(topicPartition).rawValue
            return answer
        }
        guard replica.isLeader else {
            answer.errorCode = ErrorCode.notLeaderOrFollower.rawValue
            return answer
        }
        let epoch = replica.leaderEpoch
        if partition.currentLeaderEpoch >= 0, partition.currentLeaderEpoch != epoch {
            answer.errorCode =
                (partition.currentLeaderEpoch < epoch ? ErrorCode.fencedLeaderEpoch : .unknownLeaderEpoch).rawValue
            return answer
        }
        let log = replica.log
        // Kafka's "last fetchable offset": nothing at or above it is answered.
        let bound =
            fromReplica ? log.logEndOffset : isolationLevel == 1 ? replica.lastStableOffset : replica.highWatermark
        do {
            switch partition.timestamp {
            case Self.latest:
                answer.offset = bound
                answer.leaderEpoch = epoch
            case Self.earliest, Self.earliestLocal:
                answer.offset = log.logStartOffset
                answer.leaderEpoch = log.epoch(atOffset: answer.offset)
            case Self.latestTiered:
                break  // no tiered storage: no offset
            case Self.maxTimestamp:
                if let found = try log.maxTimestampOffset(), found.offset < bound {
                    answer.timestamp = found.timestamp
                    answer.offset = found.offset
                    answer.leaderEpoch = found.leaderEpoch
                }
            case let timestamp where timestamp >= 0:
                if let found = try log.offset(forTimestamp: timestamp), found.offset < bound {
                    answer.timestamp = found.timestamp
                    answer.offset = found.offset
                    answer.leaderEpoch = found.leaderEpoch
                }
            default:
                answer.errorCode = ErrorCode.invalidRequest.rawValue
            }
        } catch {
            answer.errorCode = ErrorCode.kafkaStorageError.rawValue
        }
        return answer
    }
}
