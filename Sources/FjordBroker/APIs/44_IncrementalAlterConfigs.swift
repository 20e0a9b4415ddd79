// IncrementalAlterConfigs v0-v1: SET, DELETE, APPEND, SUBTRACT on topic configs and on the broker-side defaults of
// topic configs (`log.retention.ms`, ...); each key and value validated (INVALID_CONFIG naming it); validate_only.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct IncrementalAlterConfigsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: IncrementalAlterConfigsRequest, context: RequestContext) -> EventLoopFuture<
        IncrementalAlterConfigsResponse
    > {
        let services = self.services
        let nodeID = services.configuration.nodeID
        return context.eventLoop.makeCompletedFuture {
            try request.resources.map { resource -> IncrementalAlterConfigsResponse.AlterConfigsResourceResponse in
                if let refusal = services.configRefusal(
                    context, .alterConfigs, resourceType: resource.resourceType, name: resource.resourceName)
                {
                    return .init(
                        errorCode: refusal.rawValue, errorMessage: "Authorization failed.",
                        resourceType: resource.resourceType, resourceName: resource.resourceName)
                }
                let changes = resource.configs.map { config in
                    ConfigCommands.Change(
                        name: config.name,
                        operation: ConfigCommands.Operation(rawValue: config.configOperation) ?? .set,
                        value: config.value)
                }
                services.noteDeprecatedConfigs(
                    changes.filter { $0.operation != .delete }.map(\.name), api: "IncrementalAlterConfigs",
                    resource: resource.resourceName
                )
                if let bad = resource.configs.first(where: {
                    ConfigCommands.Operation(rawValue: $0.configOperation) == nil
                }) {
                    return .init(
                        errorCode: ErrorCode.invalidRequest.rawValue,
                        errorMessage: "Unknown operation \(bad.configOperation)", resourceType: resource.resourceType,
                        resourceName: resource.resourceName)
                }
                let result: ItemResult
                if request.validateOnly {
                    result =
                        ConfigCommands(image: services.image, nodeID: nodeID).incrementalAlter(
                            type: resource.resourceType, name: resource.resourceName, changes: changes
                        ).response
                } else {
                    result = try services.metadata.executeItem { image in
                        ConfigCommands(image: image, nodeID: nodeID).incrementalAlter(
                            type: resource.resourceType, name: resource.resourceName, changes: changes)
                    }
                }
                return .init(
                    errorCode: result.error.rawValue, errorMessage: result.message, resourceType: resource.resourceType,
                    resourceName: resource.resourceName)
            }
        }.map { IncrementalAlterConfigsResponse(responses: $0) }
    }
}
