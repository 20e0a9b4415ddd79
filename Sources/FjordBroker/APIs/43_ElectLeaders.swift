// ElectLeaders v0-v2 (KIP-183, KIP-460): preferred or unclean leader elections for named partitions, or for every
// partition (null topic list). Decided by the active controller (`ClusterControl.electLeaders`) and committed
// through the quorum before the answer; a broker forwards it there (`ForwardingHandler`). Off the active controller:
// NOT_CONTROLLER for the whole request, which clients retry.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Runs ElectLeaders as a metadata command.
struct ElectLeadersHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...2
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: ElectLeadersRequest, context: RequestContext) -> EventLoopFuture<ElectLeadersResponse> {
        let services = self.services
        let version = context.apiVersion
        let uncleanDefault = services.configuration.uncleanLeaderElectionEnable
        // ALTER on the cluster, as Kafka checks it.
        guard services.authorize(context, .alter, .cluster, AclResourceType.clusterName) else {
            return context.eventLoop.makeSucceededFuture(
                ElectLeadersResponse(errorCode: ErrorCode.clusterAuthorizationFailed.rawValue))
        }
        return context.eventLoop.makeCompletedFuture {
            do {
                return try services.metadata.execute { image in
                    ClusterControl(image: image, uncleanLeaderElectionDefault: uncleanDefault)
                        .electLeaders(request, version: version)
                }
            } catch let error as MetadataCommandError {
                return ElectLeadersResponse(errorCode: error.code.rawValue)
            }
        }
    }
}
