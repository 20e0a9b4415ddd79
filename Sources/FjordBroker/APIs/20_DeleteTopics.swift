// DeleteTopics v1-v6: by name, and by topic id from v6 (UNKNOWN_TOPIC_ID). The topic leaves the metadata at once;
// its partition folders are renamed and removed in the background.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DeleteTopicsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 1...6
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: DeleteTopicsRequest, context: RequestContext) -> EventLoopFuture<DeleteTopicsResponse> {
        let services = self.services
        let requestedNames =
            context.apiVersion >= 6
            ? request.topics.compactMap { $0.topicID == .zero ? $0.name : nil } : request.topicNames
        let requestedIDs =
            context.apiVersion >= 6 ? request.topics.compactMap { $0.topicID != .zero ? $0.topicID : nil } : []
        // DELETE on each topic, as Kafka checks it: a name refused is answered TOPIC_AUTHORIZATION_FAILED, an id
        // refused (or unknown) UNKNOWN_TOPIC_ID by the command (its name is not revealed).
        let image = services.image
        let refusedNames = requestedNames.filter { !services.authorize(context, .delete, .topic, $0) }
        let names = requestedNames.filter { !refusedNames.contains($0) }
        let refusedIDs = requestedIDs.filter { id in
            image.topic(id: id).map { !services.authorize(context, .delete, .topic, $0.name) } ?? false
        }
        let ids = requestedIDs.filter { !refusedIDs.contains($0) }
        let refusals =
            refusedNames.map {
                DeleteTopicsResponse.DeletableTopicResult(
                    name: $0, errorCode: ErrorCode.topicAuthorizationFailed.rawValue,
                    errorMessage: "Authorization failed.")
            }
            + refusedIDs.map {
                DeleteTopicsResponse.DeletableTopicResult(
                    name: nil, topicID: $0, errorCode: ErrorCode.unknownTopicID.rawValue,
                    errorMessage: "This server does not host this topic ID.")
            }
        return context.eventLoop.makeCompletedFuture {
            let results = try services.metadata.execute { image in
                TopicCommands(image: image, defaults: .init(partitionCount: 1, replicationFactor: 1)).deleteTopics(
                    names: names, ids: ids)
            }
            try services.replicas.logManager.removeDeletedDirectories()
            return results
        }.map { results in
            DeleteTopicsResponse(
                responses: results.map { result in
                    .init(
                        name: result.name, topicID: result.topicID, errorCode: result.result.error.rawValue,
                        errorMessage: result.result.message)
                } + refusals)
        }.flatMapErrorThrowing { error in
            // Not the active controller: every topic answers it; the client retries.
            guard let refusal = error as? MetadataCommandError else { throw error }
            let named = names.map { DeleteTopicsResponse.DeletableTopicResult(name: $0) }
            let byID = ids.map { DeleteTopicsResponse.DeletableTopicResult(name: nil, topicID: $0) }
            return DeleteTopicsResponse(
                responses: (named + byID).map {
                    var result = $0
                    result.errorCode = refusal.code.rawValue
                    result.errorMessage = refusal.message
                    return result
                } + refusals)
        }
    }
}
