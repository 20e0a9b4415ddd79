// DescribeClientQuotas v0-v1, from this broker's metadata image (`QuotaControl.describe`): the quotas of the
// entities the filter selects — per component an exact name (null: the default entity), the default, or any — and
// with `strict` only entities without other components. DESCRIBE_CONFIGS on the cluster is required
// (CLUSTER_AUTHORIZATION_FAILED); an entity type other than user and client-id is INVALID_REQUEST.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DescribeClientQuotasHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices

    func handle(_ request: DescribeClientQuotasRequest, context: RequestContext) -> EventLoopFuture<
        DescribeClientQuotasResponse
    > {
        context.eventLoop.makeSucceededFuture(describe(request, context: context))
    }

    func describe(_ request: DescribeClientQuotasRequest, context: RequestContext) -> DescribeClientQuotasResponse {
        var response = DescribeClientQuotasResponse()
        guard services.authorize(context, .describeConfigs, .cluster, AclResourceType.clusterName) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = "Cluster authorization failed."
            return response
        }
        var components: [(type: String, match: QuotaControl.Match)] = []
        for component in request.components {
            guard [ClientQuotaEntity.userType, ClientQuotaEntity.clientIDType].contains(component.entityType),
                !components.contains(where: { $0.type == component.entityType })
            else {
                response.errorCode = ErrorCode.invalidRequest.rawValue
                response.errorMessage = "Invalid entity type \(component.entityType) (user and client-id, once each)"
                return response
            }
            let match: QuotaControl.Match
            switch component.matchType {
            case 0: match = .exact(component.match)
            case 1: match = .defaultEntity
            case 2: match = .specified
            default:
                response.errorCode = ErrorCode.invalidRequest.rawValue
                response.errorMessage = "Invalid match type \(component.matchType)"
                return response
            }
            components.append((component.entityType, match))
        }
        let found = QuotaControl(image: services.metadata.publisher.image).describe(components, strict: request.strict)
        response.entries = found.map { entity, values in
            .init(
                entity: MetadataImage.entityData(entity).map {
                    .init(entityType: $0.entityType, entityName: $0.entityName)
                },
                values: values.keys.sorted().map { .init(key: $0, value: values[$0]!) })
        }
        return response
    }
}
