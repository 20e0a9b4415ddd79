// DescribeAcls v1-v3 (Kafka 4 removed v0): the ACLs a filter selects, from this broker's metadata image, grouped by
// resource pattern. DESCRIBE on the cluster is required (CLUSTER_AUTHORIZATION_FAILED); without an authorizer the
// answer is SECURITY_DISABLED, and a filter with an UNKNOWN value INVALID_REQUEST, as Kafka answers.
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DescribeAclsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 1...3
    let services: BrokerServices

    func handle(_ request: DescribeAclsRequest, context: RequestContext) -> EventLoopFuture<DescribeAclsResponse> {
        context.eventLoop.makeSucceededFuture(describe(request, context: context))
    }

    func describe(_ request: DescribeAclsRequest, context: RequestContext) -> DescribeAclsResponse {
        var response = DescribeAclsResponse()
        guard services.authorize(context, .describe, .cluster, AclResourceType.clusterName) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = "Cluster authorization failed."
            return response
        }
        guard let authorizer = services.authorizer else {
            response.errorCode = ErrorCode.securityDisabled.rawValue
            response.errorMessage = "No Authorizer is configured."
            return response
        }
        let filter = AclBindingFilter(
            wireResourceType: request.resourceTypeFilter, name: request.resourceNameFilter,
            patternType: request.patternTypeFilter, principal: request.principalFilter, host: request.hostFilter,
            operation: request.operation, permission: request.permissionType)
        if let problem = filter.problem {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            response.errorMessage = problem
            return response
        }
        response.resources = authorizer.acls(matching: filter).map { pattern, entries in
            DescribeAclsResponse.DescribeAclsResource(
                resourceType: pattern.resourceType.rawValue, resourceName: pattern.name,
                patternType: pattern.patternType.rawValue,
                acls: entries.map {
                    .init(
                        principal: $0.principal, host: $0.host, operation: $0.operation.rawValue,
                        permissionType: $0.permission.rawValue)
                })
        }
        return response
    }
}
