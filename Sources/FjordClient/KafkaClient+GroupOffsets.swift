import KafkaProtocol

/// Committed offsets of a group (OffsetFetch, OffsetCommit) at the group's coordinator, shared by `Consumer` and
/// `Admin`.
extension KafkaClient {
    /// A committed offset with its metadata string.
    public struct CommittedOffset: Sendable, Hashable {
        /// The next offset to read; -1 when nothing is committed.
        public var offset: Int64
        public var leaderEpoch: Int32
        public var metadata: String?
    }

    /// The committed offsets of `group` for `partitions` (nil: every partition the group has offsets for). A
    /// KIP-848 member passes its member id and epoch (OffsetFetch v9 checks them); others pass nil and -1.
    public func committedOffsets(
        group: String, partitions: [TopicPartition]?, requireStable: Bool = false, memberID: String? = nil,
        memberEpoch: Int32 = -1
    ) async throws -> [TopicPartition: Result<CommittedOffset, ClientError>] {
        let coordinator = try await findCoordinator(key: group)
        let connection = try await connection(to: coordinator)
        let version = try connection.version(for: OffsetFetchRequest.self)
        var request = OffsetFetchRequest()
        request.requireStable = requireStable
        let topics = partitions.map { Dictionary(grouping: $0, by: \.topic).sorted { $0.key < $1.key } }
        if version >= 8 {
            request.groups = [
                OffsetFetchRequest.OffsetFetchRequestGroup(
                    groupID: group, memberID: version >= 9 ? memberID : nil,
                    memberEpoch: version >= 9 ? memberEpoch : -1,
                    topics: topics?.map {
                        OffsetFetchRequest.OffsetFetchRequestTopics(
                            name: $0.key, partitionIndexes: $0.value.map(\.partition))
                    }
                )
            ]
        } else {
            request.groupID = group
            request.topics = topics?.map {
                OffsetFetchRequest.OffsetFetchRequestTopic(name: $0.key, partitionIndexes: $0.value.map(\.partition))
            }
        }
        let response: OffsetFetchResponse
        do {
            response = try await connection.send(request, version: version)
        } catch {
            invalidateCoordinator(key: group)
            throw error
        }
        var results: [TopicPartition: Result<CommittedOffset, ClientError>] = [:]
        func record(
            _ topic: String, _ index: Int32, _ offset: Int64, _ epoch: Int32, _ metadata: String?, _ code: Int16
        ) {
            let partition = TopicPartition(topic, index)
            if let error = ClientError.kafka(
                code, "OffsetFetch failed", broker: coordinator, topic: topic, partition: index)
            {
                results[partition] = .failure(error)
            } else {
                results[partition] = .success(CommittedOffset(offset: offset, leaderEpoch: epoch, metadata: metadata))
            }
        }
        if version >= 8 {
            guard let answer = response.groups.first(where: { $0.groupID == group }) else {
                throw ClientError(.protocolViolation, "OffsetFetch answered no group \(group)", isRetriable: true)
            }
            if let error = ClientError.kafka(
                answer.errorCode, "OffsetFetch for group \(group) failed", broker: coordinator)
            {
                if KafkaClient.isCoordinatorError(error.kafkaError!) { invalidateCoordinator(key: group) }
                throw error
            }
            for topic in answer.topics {
                for p in topic.partitions {
                    record(
                        topic.name, p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata, p.errorCode
                    )
                }
            }
        } else {
            if let error = ClientError.kafka(
                response.errorCode, "OffsetFetch for group \(group) failed", broker: coordinator)
            {
                throw error
            }
            for topic in response.topics {
                for p in topic.partitions {
                    record(
                        topic.name, p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata, p.errorCode
                    )
                }
            }
        }
        return results
    }

    /// Commits `offsets` for `group`; `generationID` -1 and an empty member id commit as a standalone (admin) commit.
    public func commitOffsets(
        group: String, offsets: [TopicPartition: Int64], generationID: Int32 = -1, memberID: String = "",
        groupInstanceID: String? = nil, metadata: String? = ""
    ) async throws -> [TopicPartition: Result<Void, ClientError>] {
        let coordinator = try await findCoordinator(key: group)
        var request = OffsetCommitRequest()
        request.groupID = group
        request.generationIDOrMemberEpoch = generationID
        request.memberID = memberID
        request.groupInstanceID = groupInstanceID
        request.retentionTimeMs = -1
        request.topics = Dictionary(grouping: offsets.keys, by: \.topic).sorted { $0.key < $1.key }.map {
            topic, parts in
            OffsetCommitRequest.OffsetCommitRequestTopic(
                name: topic,
                partitions: parts.sorted().map {
                    OffsetCommitRequest.OffsetCommitRequestPartition(
                        partitionIndex: $0.partition, committedOffset: offsets[$0]!, committedLeaderEpoch: -1,
                        commitTimestamp: -1, committedMetadata: metadata
                    )
                }
            )
        }
        let response: OffsetCommitResponse
        do {
            response = try await send(request, to: coordinator)
        } catch {
            invalidateCoordinator(key: group)
            throw error
        }
        var results: [TopicPartition: Result<Void, ClientError>] = [:]
        for topic in response.topics {
            for p in topic.partitions {
                let partition = TopicPartition(topic.name, p.partitionIndex)
                if let error = ClientError.kafka(
                    p.errorCode, "OffsetCommit failed", broker: coordinator, topic: topic.name,
                    partition: p.partitionIndex
                ) {
                    if KafkaClient.isCoordinatorError(error.kafkaError!) { invalidateCoordinator(key: group) }
                    results[partition] = .failure(error)
                } else {
                    results[partition] = .success(())
                }
            }
        }
        return results
    }
}
