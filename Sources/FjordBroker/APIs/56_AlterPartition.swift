// AlterPartition v0-v3, controller listener only (KIP-497): a partition leader asks the active controller to change
// the partition's ISR. Validated against the image (`ClusterControl.alterPartition`: epochs, leadership, eligible
// members) and, when accepted, a PartitionChangeRecord is committed through the quorum before the answer.
// NOT_CONTROLLER off the active controller; STALE_BROKER_EPOCH for another incarnation of the sender.
import FjordController
import KafkaProtocol
import NIOCore

/// Changes a partition's ISR on its leader's request (`ClusterControl.alterPartition`, run as a metadata command).
struct AlterPartitionHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...3
    /// Blocks until the record commits: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AlterPartitionRequest, context: RequestContext) -> EventLoopFuture<
        AlterPartitionResponse
    > {
        let services = self.services
        let version = context.apiVersion
        return context.eventLoop.makeCompletedFuture {
            do {
                return try services.metadata.execute { image in
                    ClusterControl(image: image).alterPartition(request, version: version)
                }
            } catch let error as MetadataCommandError {
                return AlterPartitionResponse(errorCode: error.code.rawValue)
            } catch {
                return AlterPartitionResponse(errorCode: ErrorCode.unknownServerError.rawValue)
            }
        }
    }
}
