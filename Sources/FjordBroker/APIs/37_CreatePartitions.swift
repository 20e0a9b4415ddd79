// CreatePartitions v0-v3: grow a topic's partition count (INVALID_PARTITIONS when not larger), optional explicit
// replicas for the new partitions, validate_only.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct CreatePartitionsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...3
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: CreatePartitionsRequest, context: RequestContext) -> EventLoopFuture<
        CreatePartitionsResponse
    > {
        let services = self.services
        // ALTER on each topic (Kafka): a topic refused is answered TOPIC_AUTHORIZATION_FAILED and not changed.
        let refused = request.topics.map(\.name).filter { !services.authorize(context, .alter, .topic, $0) }
        let refusals = refused.map {
            CreatePartitionsResponse.CreatePartitionsTopicResult(
                name: $0, errorCode: ErrorCode.topicAuthorizationFailed.rawValue, errorMessage: "Authorization failed.")
        }
        let requests = request.topics.filter { !refused.contains($0.name) }.map { topic in
            (name: topic.name, count: topic.count, assignments: topic.assignments.map { $0.map(\.brokerIDs) })
        }
        return context.eventLoop.makeCompletedFuture { () -> [(name: String, result: ItemResult)] in
            let defaults = TopicCommands.Defaults(partitionCount: 1, replicationFactor: 1)
            if request.validateOnly {
                return TopicCommands(image: services.image, defaults: defaults).createPartitions(requests).response
            }
            return try services.metadata.execute { image in
                TopicCommands(image: image, defaults: defaults, placementSeed: .random(in: .min ... .max))
                    .createPartitions(requests)
            }
        }.map { results in
            CreatePartitionsResponse(
                results: results.map {
                    .init(name: $0.name, errorCode: $0.result.error.rawValue, errorMessage: $0.result.message)
                } + refusals)
        }.flatMapErrorThrowing { error in
            // Not the active controller: every topic answers it; the client retries.
            guard let refusal = error as? MetadataCommandError else { throw error }
            return CreatePartitionsResponse(
                results: requests.map {
                    .init(name: $0.name, errorCode: refusal.code.rawValue, errorMessage: refusal.message)
                } + refusals)
        }
    }
}
