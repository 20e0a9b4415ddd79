// CreateAcls v1-v3 (Kafka 4 removed v0), decided by the active controller (`AclControl.createAcls`; a broker
// listener forwards it there): each ACL an AccessControlEntryRecord, committed before the answer. ALTER on the
// cluster is required (CLUSTER_AUTHORIZATION_FAILED for every creation); without an authorizer every creation is
// answered SECURITY_DISABLED, as Kafka's brokers answer.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct CreateAclsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 1...3
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: CreateAclsRequest, context: RequestContext) -> EventLoopFuture<CreateAclsResponse> {
        context.eventLoop.makeSucceededFuture(create(request, context: context))
    }

    func create(_ request: CreateAclsRequest, context: RequestContext) -> CreateAclsResponse {
        func everyCreation(_ error: ErrorCode, _ message: String) -> CreateAclsResponse {
            CreateAclsResponse(
                results: request.creations.map { _ in .init(errorCode: error.rawValue, errorMessage: message) })
        }
        guard services.authorize(context, .alter, .cluster, AclResourceType.clusterName) else {
            return everyCreation(.clusterAuthorizationFailed, "Cluster authorization failed.")
        }
        guard services.authorizer != nil else {
            return everyCreation(.securityDisabled, "No Authorizer is configured.")
        }
        // A value this build does not know becomes UNKNOWN, which the binding check refuses with its message.
        let bindings = request.creations.map { creation in
            AclBinding(
                ResourcePattern(
                    AclResourceType(rawValue: creation.resourceType) ?? .unknown, creation.resourceName,
                    AclPatternType(rawValue: creation.resourcePatternType) ?? .unknown),
                AccessControlEntry(
                    principal: creation.principal, host: creation.host,
                    operation: AclOperation(rawValue: creation.operation) ?? .unknown,
                    permission: AclPermissionType(rawValue: creation.permissionType) ?? .unknown))
        }
        do {
            let results = try services.metadata.execute { image in
                AclControl(image: image).createAcls(bindings) { KafkaUUID.random() }
            }
            let created = zip(bindings, results).filter { $0.1.isOK }.map(\.0)
            if !created.isEmpty {
                services.logger.info("ACLs created", metadata: ["acls": "\(created.map(\.description))"])
            }
            return CreateAclsResponse(
                results: results.map { .init(errorCode: $0.error.rawValue, errorMessage: $0.message) })
        } catch let refusal as MetadataCommandError {
            return everyCreation(refusal.code, refusal.message)
        } catch {
            return everyCreation(.unknownServerError, "\(error)")
        }
    }
}
