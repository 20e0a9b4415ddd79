// Metadata v0-v12 (all versions Kafka 4 defines). Brokers, cluster id (v2+), controller (v1+), topics with their
// partitions; topic ids (v10+), lookups by id (v10+, UNKNOWN_TOPIC_ID), null name in v12+. A null topic list (v1+)
// or an empty one in v0 asks for every topic. Unknown topics are created when auto.create.topics.enable is on and
// the request allows it (v4+ flag; always in v0-v3): the topic is created (committed to the metadata log) before
// the answer, which lists it ready, leaders and all, where Kafka would first answer LEADER_NOT_AVAILABLE.
import FjordController
import KafkaProtocol
import NIOCore

/// Tells clients which brokers exist and who leads each partition of the topics they ask about.
struct MetadataHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...12
    let metadata: MetadataPublisher
    /// Creates topics on request; nil where a broker has no metadata service (tests of the pipeline).
    let services: BrokerServices?

    init(metadata: MetadataPublisher, services: BrokerServices? = nil) {
        self.metadata = metadata
        self.services = services
    }

    func handle(_ request: MetadataRequest, context: RequestContext) -> EventLoopFuture<MetadataResponse> {
        let version = context.apiVersion
        let allowCreation = version < 4 || request.allowAutoTopicCreation
        let missing = (request.topics ?? []).compactMap { topic -> String? in
            guard let name = topic.name, !(version >= 10 && topic.topicID != .zero) else { return nil }
            return metadata.image.topic(named: name) == nil && TopicName.isValid(name) ? name : nil
        }
        guard let services, allowCreation, services.configuration.autoCreateTopicsEnable, !missing.isEmpty else {
            return context.eventLoop.makeSucceededFuture(answer(request, version: version, created: []))
        }
        // Create first, then answer from the new image: the client sees the topic in this very response.
        return services.blocking(on: context.eventLoop) { try services.autoCreate(missing) }
            .map { created in answer(request, version: version, created: created) }
            .flatMapErrorThrowing { _ in answer(request, version: version, created: []) }
    }

    private func answer(_ request: MetadataRequest, version: Int16, created: [String]) -> MetadataResponse {
        let image = metadata.image
        var response = MetadataResponse()
        response.brokers = (services?.metadata.liveBrokers(image) ?? image.brokers).map { broker in
            MetadataResponse.MetadataResponseBroker(
                nodeID: broker.nodeID, host: broker.host, port: broker.port, rack: broker.rack)
        }
        response.clusterID = image.clusterID
        response.controllerID = image.controllerID
        let wantsAll = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        if wantsAll {
            response.topics = image.topicNames.map { describe(image.topic(named: $0)!, image: image) }
        } else {
            response.topics = (request.topics ?? []).map { requested in
                if let name = requested.name, !(version >= 10 && requested.topicID != .zero) {
                    guard let topic = image.topic(named: name) else {
                        // Created by the active controller but not replayed here yet: Kafka's answer for a topic
                        // being created, which clients retry.
                        let code: ErrorCode =
                            created.contains(name)
                            ? .leaderNotAvailable
                            : TopicName.isValid(name) ? .unknownTopicOrPartition : .invalidTopicException
                        return MetadataResponse.MetadataResponseTopic(
                            errorCode: code.rawValue,
                            name: name, topicID: .zero
                        )
                    }
                    return describe(topic, image: image)
                }
                guard let topic = image.topic(id: requested.topicID) else {
                    return MetadataResponse.MetadataResponseTopic(
                        errorCode: ErrorCode.unknownTopicID.rawValue, name: nil, topicID: requested.topicID)
                }
                return describe(topic, image: image)
            }
        }
        return response
    }

    /// A partition without a leader (its broker fenced) is LEADER_NOT_AVAILABLE, and replicas on brokers that are
    /// fenced or gone are listed offline, as Kafka answers.
    private func describe(_ topic: MetadataImage.Topic, image: MetadataImage) -> MetadataResponse.MetadataResponseTopic
    {
        MetadataResponse.MetadataResponseTopic(
            errorCode: ErrorCode.none.rawValue, name: topic.name, topicID: topic.topicID, isInternal: topic.isInternal,
            partitions: topic.partitions.map { partition in
                MetadataResponse.MetadataResponsePartition(
                    errorCode: (partition.leader < 0 ? ErrorCode.leaderNotAvailable : .none).rawValue,
                    partitionIndex: partition.index, leaderID: partition.leader,
                    leaderEpoch: partition.leaderEpoch, replicaNodes: partition.replicas,
                    isrNodes: partition.inSyncReplicas,
                    offlineReplicas: partition.replicas.filter { image.brokerRegistrations[$0]?.isFenced ?? true }
                )
            }
        )
    }
}
