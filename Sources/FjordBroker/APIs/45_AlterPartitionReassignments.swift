// AlterPartitionReassignments v0 (KIP-455): start, replace or cancel (null replicas) the move of partitions'
// replicas. Decided by the active controller (`ClusterControl.alterPartitionReassignments`) and committed before the
// answer; a broker forwards it there (`ForwardingHandler`). The new replicas then catch up by fetching, and the
// AlterPartition that brings the last one into the ISR completes the move. Off the active controller: NOT_CONTROLLER
// for the whole request, which clients retry.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Runs AlterPartitionReassignments as a metadata command.
struct AlterPartitionReassignmentsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AlterPartitionReassignmentsRequest, context: RequestContext) -> EventLoopFuture<
        AlterPartitionReassignmentsResponse
    > {
        let services = self.services
        let uncleanDefault = services.configuration.uncleanLeaderElectionEnable
        // ALTER on the cluster, as Kafka checks it.
        guard services.authorize(context, .alter, .cluster, AclResourceType.clusterName) else {
            return context.eventLoop.makeSucceededFuture(
                AlterPartitionReassignmentsResponse(
                    errorCode: ErrorCode.clusterAuthorizationFailed.rawValue,
                    errorMessage: "Cluster authorization failed."))
        }
        return context.eventLoop.makeCompletedFuture {
            do {
                return try services.metadata.execute { image in
                    ClusterControl(image: image, uncleanLeaderElectionDefault: uncleanDefault)
                        .alterPartitionReassignments(request)
                }
            } catch let error as MetadataCommandError {
                return AlterPartitionReassignmentsResponse(errorCode: error.code.rawValue, errorMessage: error.message)
            }
        }
    }
}
