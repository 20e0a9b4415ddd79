// ListPartitionReassignments v0 (KIP-455): the partition moves in progress — of the named partitions, or of all
// (null topics) — with their replicas, adding and removing replicas. Answered by the active controller from its
// image; a broker forwards it there (`ForwardingHandler`), as Kafka does.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct ListPartitionReassignmentsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    let services: BrokerServices

    func handle(_ request: ListPartitionReassignmentsRequest, context: RequestContext) -> EventLoopFuture<
        ListPartitionReassignmentsResponse
    > {
        // DESCRIBE on the cluster, as Kafka checks it.
        guard services.authorize(context, .describe, .cluster, AclResourceType.clusterName) else {
            return context.eventLoop.makeSucceededFuture(
                ListPartitionReassignmentsResponse(
                    errorCode: ErrorCode.clusterAuthorizationFailed.rawValue,
                    errorMessage: "Cluster authorization failed."))
        }
        return context.eventLoop.makeSucceededFuture(
            ClusterControl(image: services.image).listPartitionReassignments(request))
    }
}
