// Metadata v0-v12 (all versions Kafka 4 defines). Brokers, cluster id (v2+), controller (v1+), topics with their
// partitions; topic ids (v10+), lookups by id (v10+, UNKNOWN_TOPIC_ID), null name in v12+. A null topic list (v1+)
// or an empty one in v0 asks for every topic. Unknown topics are created when auto.create.topics.enable is on and
// the request allows it (v4+ flag; always in v0-v3): the topic is created (committed to the metadata log) before
// the answer, which lists it ready, leaders and all, where Kafka would first answer LEADER_NOT_AVAILABLE.
// With an authorizer, as Kafka: a topic needs DESCRIBE to be listed (asked for by name: TOPIC_AUTHORIZATION_FAILED;
// by id: UNKNOWN_TOPIC_ID, so its existence does not leak), and CREATE on the cluster or the topic to be created
// (else TOPIC_AUTHORIZATION_FAILED); the authorized-operations fields (v8+) are filled when asked for.
import FjordController
import FjordSecurity
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
        var missing = (request.topics ?? []).compactMap { topic -> String? in
            guard let name = topic.name, !(version >= 10 && topic.topicID != .zero) else { return nil }
            return metadata.image.topic(named: name) == nil && TopicName.isValid(name) ? name : nil
        }
        var mayNotCreate: Set<String> = []
        if let services, services.authorizer != nil, !missing.isEmpty,
            !services.authorize(context, .create, .cluster, AclResourceType.clusterName)
        {
            mayNotCreate = Set(missing.filter { !services.authorize(context, .create, .topic, $0) })
            missing.removeAll { mayNotCreate.contains($0) }
        }
        let creatable = missing
        guard let services, allowCreation, services.configuration.autoCreateTopicsEnable, !creatable.isEmpty else {
            return context.eventLoop.makeSucceededFuture(
                answer(request, context: context, created: [], mayNotCreate: mayNotCreate))
        }
        // Create first, then answer from the new image: the client sees the topic in this very response.
        return services.blocking(on: context.eventLoop) { try services.autoCreate(creatable) }
            .map { created in answer(request, context: context, created: created, mayNotCreate: mayNotCreate) }
            .flatMapErrorThrowing { _ in answer(request, context: context, created: [], mayNotCreate: mayNotCreate) }
    }

    private func answer(
        _ request: MetadataRequest, context: RequestContext, created: [String], mayNotCreate: Set<String>
    ) -> MetadataResponse {
        let version = context.apiVersion
        let mayDescribe = { (name: String) in services?.authorize(context, .describe, .topic, name) ?? true }
        let describe = { (topic: MetadataImage.Topic, image: MetadataImage) in
            var described = self.describe(topic, image: image)
            if version >= 8, request.includeTopicAuthorizedOperations, let services {
                described.topicAuthorizedOperations = services.authorizedOperations(context, .topic, topic.name)
            }
            return described
        }
        let image = metadata.image
        var response = MetadataResponse()
        response.brokers = (services?.metadata.liveBrokers(image, listener: context.listenerName) ?? image.brokers)
            .map { broker in
                MetadataResponse.MetadataResponseBroker(
                    nodeID: broker.nodeID, host: broker.host, port: broker.port, rack: broker.rack)
            }
        response.clusterID = image.clusterID
        response.controllerID = image.controllerID
        if (8...10).contains(version), request.includeClusterAuthorizedOperations, let services {
            response.clusterAuthorizedOperations = services.authorizedOperations(
                context, .cluster, AclResourceType.clusterName)
        }
        let wantsAll = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        if wantsAll {
            response.topics = image.topicNames.filter(mayDescribe).map { describe(image.topic(named: $0)!, image) }
        } else {
            response.topics = (request.topics ?? []).map { requested in
                if let name = requested.name, !(version >= 10 && requested.topicID != .zero) {
                    guard mayDescribe(name), !mayNotCreate.contains(name) else {
                        return MetadataResponse.MetadataResponseTopic(
                            errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name, topicID: .zero)
                    }
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
                    return describe(topic, image)
                }
                guard let topic = image.topic(id: requested.topicID), mayDescribe(topic.name) else {
                    return MetadataResponse.MetadataResponseTopic(
                        errorCode: ErrorCode.unknownTopicID.rawValue, name: nil, topicID: requested.topicID)
                }
                return describe(topic, image)
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
