// AlterClientQuotas v0-v1, decided by the active controller (`QuotaControl.alter`; a broker listener forwards it
// there): each set or removal a ClientQuotaRecord, committed before the answer; `validateOnly` checks and writes
// nothing. ALTER_CONFIGS on the cluster is required (CLUSTER_AUTHORIZATION_FAILED for every entry).
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct AlterClientQuotasHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AlterClientQuotasRequest, context: RequestContext) -> EventLoopFuture<
        AlterClientQuotasResponse
    > {
        context.eventLoop.makeSucceededFuture(alter(request, context: context))
    }

    func alter(_ request: AlterClientQuotasRequest, context: RequestContext) -> AlterClientQuotasResponse {
        let entities = request.entries.map { entry in
            entry.entity.map {
                AlterClientQuotasResponse.EntityData(entityType: $0.entityType, entityName: $0.entityName)
            }
        }
        func everyEntry(_ error: ErrorCode, _ message: String) -> AlterClientQuotasResponse {
            AlterClientQuotasResponse(
                entries: entities.map { .init(errorCode: error.rawValue, errorMessage: message, entity: $0) })
        }
        guard services.authorize(context, .alterConfigs, .cluster, AclResourceType.clusterName) else {
            return everyEntry(.clusterAuthorizationFailed, "Cluster authorization failed.")
        }
        let entries = request.entries.map { entry in
            (
                entity: entry.entity.map { (type: $0.entityType, name: $0.entityName) },
                operations: entry.ops.map { QuotaControl.Operation(key: $0.key, value: $0.value, remove: $0.remove) }
            )
        }
        do {
            let results = try services.metadata.execute { image in
                QuotaControl(image: image).alter(entries, validateOnly: request.validateOnly)
            }
            return AlterClientQuotasResponse(
                entries: zip(results, entities).map {
                    .init(errorCode: $0.error.rawValue, errorMessage: $0.message, entity: $1)
                })
        } catch let refusal as MetadataCommandError {
            return everyEntry(refusal.code, refusal.message)
        } catch {
            return everyEntry(.unknownServerError, "\(error)")
        }
    }
}
