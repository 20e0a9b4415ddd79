import KafkaProtocol

/// Offset lookups (ListOffsets) by partition leader, shared by `Consumer` and `Admin`.
extension KafkaClient {
    /// A point in a partition to look up.
    public enum OffsetSpec: Sendable, Hashable {
        /// The log start offset.
        case earliest
        /// The log end offset (the high watermark under read_uncommitted).
        case latest
        /// The first offset whose timestamp is at or after this time (ms since the epoch).
        case timestamp(Int64)

        var wireTimestamp: Int64 {
            switch self {
            case .earliest: -2
            case .latest: -1
            case .timestamp(let ms): ms
            }
        }
    }

    /// An offset found by ListOffsets: -1 with timestamp -1 when no record has a timestamp that late.
    public struct ListedOffset: Sendable, Hashable {
        public var offset: Int64
        public var timestamp: Int64
        public var leaderEpoch: Int32
    }

    /// Looks up offsets, one request per leader; each partition gets its own result.
    public func listOffsets(
        _ specs: [TopicPartition: OffsetSpec], isolationLevel: Int8 = 0
    ) async -> [TopicPartition: Result<ListedOffset, ClientError>] {
        var results: [TopicPartition: Result<ListedOffset, ClientError>] = [:]
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in specs.keys {
            do {
                byLeader[try await leader(for: partition), default: []].append(partition)
            } catch {
                results[partition] = .failure(Self.asClientError(error, partition))
            }
        }
        for (leader, partitions) in byLeader {
            var request = ListOffsetsRequest()
            request.replicaID = -1
            request.isolationLevel = isolationLevel
            let grouped = Dictionary(grouping: partitions, by: \.topic)
            request.topics = grouped.sorted { $0.key < $1.key }.map { topic, parts in
                ListOffsetsRequest.ListOffsetsTopic(
                    name: topic,
                    partitions: parts.map {
                        ListOffsetsRequest.ListOffsetsPartition(
                            partitionIndex: $0.partition, currentLeaderEpoch: -1,
                            timestamp: specs[$0]!.wireTimestamp, maxNumOffsets: 1
                        )
                    }
                )
            }
            do {
                let connection = try await connection(to: leader)
                let version = try connection.version(for: ListOffsetsRequest.self)
                let response = try await connection.send(request, version: version)
                for topic in response.topics {
                    for answer in topic.partitions {
                        let partition = TopicPartition(topic.name, answer.partitionIndex)
                        if let error = ClientError.kafka(
                            answer.errorCode, "ListOffsets failed", broker: leader, topic: topic.name,
                            partition: answer.partitionIndex
                        ) {
                            if KafkaClient.isMetadataError(error.kafkaError!) { invalidateMetadata() }
                            results[partition] = .failure(error)
                            continue
                        }
                        let offset = version == 0 ? (answer.oldStyleOffsets.first ?? -1) : answer.offset
                        results[partition] = .success(
                            ListedOffset(offset: offset, timestamp: answer.timestamp, leaderEpoch: answer.leaderEpoch)
                        )
                    }
                }
            } catch {
                for partition in partitions { results[partition] = .failure(Self.asClientError(error, partition)) }
            }
        }
        for partition in specs.keys where results[partition] == nil {
            results[partition] = .failure(
                ClientError(
                    .protocolViolation, "no answer for \(partition)", isRetriable: true,
                    topic: partition.topic, partition: partition.partition)
            )
        }
        return results
    }

    static func asClientError(_ error: any Error, _ partition: TopicPartition? = nil) -> ClientError {
        if var error = error as? ClientError {
            if error.topic == nil, let partition {
                error.topic = partition.topic
                error.partition = partition.partition
            }
            return error
        }
        return ClientError(
            .connection, "\(error)", isRetriable: false, topic: partition?.topic, partition: partition?.partition,
            cause: error
        )
    }
}
