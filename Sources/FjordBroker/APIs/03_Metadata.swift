// Metadata v0-v12 (all versions Kafka 4 defines). Brokers, cluster id (v2+), controller (v1+), topics known so
// far with their partitions; topic ids (v10+), lookups by id (v10+, UNKNOWN_TOPIC_ID), null name in v12+.
// A null topic list (v1+) or an empty one in v0 asks for every topic; internal topics are included as Kafka does.
import KafkaProtocol
import NIOCore

/// Tells clients which brokers exist and who leads each partition of the topics they ask about.
struct MetadataHandler: APIHandler {
    let versions: ClosedRange<Int16> = 0...12
    let metadata: MetadataPublisher

    func handle(_ request: MetadataRequest, context: RequestContext) -> EventLoopFuture<MetadataResponse> {
        let image = metadata.image
        let version = context.apiVersion
        var response = MetadataResponse()
        response.brokers = image.brokers.map { broker in
            MetadataResponse.MetadataResponseBroker(nodeID: broker.nodeID, host: broker.host, port: broker.port, rack: broker.rack)
        }
        response.clusterID = image.clusterID
        response.controllerID = image.controllerID

        let wantsAll = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        if wantsAll {
            response.topics = image.topicsByName.keys.sorted().map { describe(image.topicsByName[$0]!) }
        } else {
            response.topics = (request.topics ?? []).map { requested in
                if let name = requested.name, !(version >= 10 && requested.topicID != .zero) {
                    guard let topic = image.topicsByName[name] else {
                        return MetadataResponse.MetadataResponseTopic(
                            errorCode: (TopicName.isValid(name) ? ErrorCode.unknownTopicOrPartition : .invalidTopicException).rawValue,
                            name: name, topicID: .zero
                        )
                    }
                    return describe(topic)
                }
                guard let topic = image.topic(id: requested.topicID) else {
                    return MetadataResponse.MetadataResponseTopic(
                        errorCode: ErrorCode.unknownTopicID.rawValue, name: nil, topicID: requested.topicID
                    )
                }
                return describe(topic)
            }
        }
        return context.eventLoop.makeSucceededFuture(response)
    }

    private func describe(_ topic: MetadataImage.Topic) -> MetadataResponse.MetadataResponseTopic {
        MetadataResponse.MetadataResponseTopic(
            errorCode: ErrorCode.none.rawValue, name: topic.name, topicID: topic.topicID, isInternal: topic.isInternal,
            partitions: topic.partitions.map { partition in
                MetadataResponse.MetadataResponsePartition(
                    errorCode: ErrorCode.none.rawValue, partitionIndex: partition.index, leaderID: partition.leader,
                    leaderEpoch: partition.leaderEpoch, replicaNodes: partition.replicas, isrNodes: partition.inSyncReplicas,
                    offlineReplicas: []
                )
            }
        )
    }
}
