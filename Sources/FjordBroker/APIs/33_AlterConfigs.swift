// AlterConfigs v0-v2 (the legacy API): the given configs replace every override of the resource; validated like
// IncrementalAlterConfigs; validate_only.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct AlterConfigsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...2
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AlterConfigsRequest, context: RequestContext) -> EventLoopFuture<AlterConfigsResponse> {
        let services = self.services
        let nodeID = services.configuration.nodeID
        return context.eventLoop.makeCompletedFuture {
            try request.resources.map { resource -> AlterConfigsResponse.AlterConfigsResourceResponse in
                if let refusal = services.configRefusal(
                    context, .alterConfigs, resourceType: resource.resourceType, name: resource.resourceName)
                {
                    return .init(
                        errorCode: refusal.rawValue, errorMessage: "Authorization failed.",
                        resourceType: resource.resourceType, resourceName: resource.resourceName)
                }
                let configs = resource.configs.map { (name: $0.name, value: $0.value) }
                services.noteDeprecatedConfigs(
                    configs.map(\.name), api: "AlterConfigs", resource: resource.resourceName)
                let result: ItemResult
                if request.validateOnly {
                    result =
                        ConfigCommands(image: services.image, nodeID: nodeID).replace(
                            type: resource.resourceType, name: resource.resourceName, configs: configs
                        ).response
                } else {
                    result = try services.metadata.executeItem { image in
                        ConfigCommands(image: image, nodeID: nodeID).replace(
                            type: resource.resourceType, name: resource.resourceName, configs: configs)
                    }
                }
                return .init(
                    errorCode: result.error.rawValue, errorMessage: result.message, resourceType: resource.resourceType,
                    resourceName: resource.resourceName)
            }
        }.map { AlterConfigsResponse(responses: $0) }
    }
}
