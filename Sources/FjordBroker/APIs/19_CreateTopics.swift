// CreateTopics v2-v7: validate_only, configs, explicit replica assignments; TOPIC_ALREADY_EXISTS,
// INVALID_TOPIC_EXCEPTION (characters, length, '.'/'_' collisions), INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
// INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG with messages; topic id, partition count, replication factor and the
// resulting configs in v5+. The change is committed to the metadata log (fsynced) before the answer.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct CreateTopicsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 2...7
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: CreateTopicsRequest, context: RequestContext) -> EventLoopFuture<CreateTopicsResponse> {
        let services = self.services
        let version = context.apiVersion
        // CREATE on the cluster, or else on each topic, as Kafka checks it: the others are answered
        // TOPIC_AUTHORIZATION_FAILED and not created.
        let refused =
            services.authorizer == nil || services.authorize(context, .create, .cluster, AclResourceType.clusterName)
            ? [] : Set(request.topics.map(\.name).filter { !services.authorize(context, .create, .topic, $0) })
        let newTopics = request.topics.filter { !refused.contains($0.name) }.map { topic in
            TopicCommands.NewTopic(
                name: topic.name, partitionCount: topic.numPartitions, replicationFactor: topic.replicationFactor,
                assignments: Dictionary(
                    topic.assignments.map { ($0.partitionIndex, $0.brokerIDs) }, uniquingKeysWith: { first, _ in first }
                ),
                configs: topic.configs.map { ($0.name, $0.value) }
            )
        }
        for topic in request.topics {
            services.noteDeprecatedConfigs(
                topic.configs.map(\.name), api: "CreateTopics", resource: "topic \(topic.name)")
        }
        let defaults = TopicCommands.Defaults(
            partitionCount: services.configuration.defaultPartitionCount,
            replicationFactor: services.configuration.defaultReplicationFactor
        )
        return context.eventLoop.makeCompletedFuture { () -> [TopicCommands.CreatedTopic] in
            if request.validateOnly {
                return TopicCommands(image: services.image, defaults: defaults).createTopics(newTopics) { .zero }
                    .response
            }
            return try services.metadata.execute { image in
                TopicCommands(image: image, defaults: defaults, placementSeed: .random(in: .min ... .max))
                    .createTopics(newTopics) { KafkaUUID.random() }
            }
        }.map { created in
            var response = CreateTopicsResponse()
            let image = services.image
            response.topics = created.map { topic in
                var result = CreateTopicsResponse.CreatableTopicResult(
                    name: topic.name, topicID: topic.topicID, errorCode: topic.result.error.rawValue,
                    errorMessage: topic.result.message
                )
                if topic.result.isOK, version >= 5 {
                    result.numPartitions = topic.partitionCount
                    result.replicationFactor = topic.replicationFactor
                    let model =
                        image.topic(named: topic.name)
                        ?? MetadataImage.Topic(name: topic.name, topicID: topic.topicID, configs: topic.configs)
                    result.configs = TopicConfigs.all.map { definition in
                        let resolved = EffectiveTopicConfig.resolve(
                            definition, topic: model, image: image, brokerProperties: services.configuration.properties)
                        return .init(
                            name: definition.name, value: resolved.value, readOnly: false,
                            configSource: resolved.source, isSensitive: false)
                    }
                } else if !topic.result.isOK {
                    result.numPartitions = -1
                    result.replicationFactor = -1
                }
                return result
            }
            response.topics += request.topics.filter { refused.contains($0.name) }.map {
                .init(
                    name: $0.name, errorCode: ErrorCode.topicAuthorizationFailed.rawValue,
                    errorMessage: "Authorization failed.", numPartitions: -1, replicationFactor: -1)
            }
            return response
        }.flatMapErrorThrowing { error in
            // Not the active controller (cut off, or the leadership moved): every topic answers it; the client retries.
            guard let refusal = error as? MetadataCommandError else { throw error }
            return CreateTopicsResponse(
                topics: request.topics.map {
                    .init(name: $0.name, errorCode: refusal.code.rawValue, errorMessage: refusal.message)
                })
        }
    }
}
