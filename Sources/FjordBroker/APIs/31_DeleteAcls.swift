// DeleteAcls v1-v3 (Kafka 4 removed v0), decided by the active controller (`AclControl.deleteAcls`; a broker
// listener forwards it there): every ACL a filter matches is removed (RemoveAccessControlEntryRecord) and listed
// in that filter's answer. ALTER on the cluster is required (CLUSTER_AUTHORIZATION_FAILED for every filter);
// without an authorizer every filter is answered SECURITY_DISABLED, as Kafka's brokers answer.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DeleteAclsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 1...3
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: DeleteAclsRequest, context: RequestContext) -> EventLoopFuture<DeleteAclsResponse> {
        context.eventLoop.makeSucceededFuture(delete(request, context: context))
    }

    func delete(_ request: DeleteAclsRequest, context: RequestContext) -> DeleteAclsResponse {
        func everyFilter(_ error: ErrorCode, _ message: String) -> DeleteAclsResponse {
            DeleteAclsResponse(
                filterResults: request.filters.map { _ in .init(errorCode: error.rawValue, errorMessage: message) })
        }
        guard services.authorize(context, .alter, .cluster, AclResourceType.clusterName) else {
            return everyFilter(.clusterAuthorizationFailed, "Cluster authorization failed.")
        }
        guard services.authorizer != nil else {
            return everyFilter(.securityDisabled, "No Authorizer is configured.")
        }
        let filters = request.filters.map { filter in
            AclBindingFilter(
                wireResourceType: filter.resourceTypeFilter, name: filter.resourceNameFilter,
                patternType: filter.patternTypeFilter, principal: filter.principalFilter, host: filter.hostFilter,
                operation: filter.operation, permission: filter.permissionType)
        }
        do {
            let results = try services.metadata.execute { image in AclControl(image: image).deleteAcls(filters) }
            let removed = results.flatMap { (try? $0.get()) ?? [] }
            if !removed.isEmpty {
                services.logger.info("ACLs deleted", metadata: ["acls": "\(removed.map(\.description))"])
            }
            return DeleteAclsResponse(filterResults: results.map(Self.filterResult))
        } catch let refusal as MetadataCommandError {
            return everyFilter(refusal.code, refusal.message)
        } catch {
            return everyFilter(.unknownServerError, "\(error)")
        }
    }

    private static func filterResult(_ result: Result<[AclBinding], ItemResult>)
        -> DeleteAclsResponse.DeleteAclsFilterResult
    {
        switch result {
        case .failure(let refusal):
            return .init(errorCode: refusal.error.rawValue, errorMessage: refusal.message)
        case .success(let removed):
            return .init(
                matchingAcls: removed.map { binding in
                    .init(
                        resourceType: binding.pattern.resourceType.rawValue, resourceName: binding.pattern.name,
                        patternType: binding.pattern.patternType.rawValue, principal: binding.entry.principal,
                        host: binding.entry.host, operation: binding.entry.operation.rawValue,
                        permissionType: binding.entry.permission.rawValue)
                })
        }
    }
}
