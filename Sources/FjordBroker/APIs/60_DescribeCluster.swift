// DescribeCluster v0-v1, on broker and controller listeners. A broker listener describes the live brokers (endpoint
// type 1); a controller listener (KIP-919, what `--bootstrap-controller` admin clients ask) the registered
// controllers at their controller listener (endpoint type 2), from metadata.version 3.7-IV0. Another known type is
// MISMATCHED_ENDPOINT_TYPE, an unknown one UNSUPPORTED_ENDPOINT_TYPE (both INVALID_REQUEST in v0), as Kafka answers.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Describes the cluster from the endpoint type this listener serves.
struct DescribeClusterHandler: TypedAPIHandler {
    /// Kafka's `EndpointType` ids.
    enum EndpointType: Int8, Sendable {
        case broker = 1
        case controller = 2

        var name: String { self == .broker ? "BROKER" : "CONTROLLER" }
    }

    let versions: ClosedRange<Int16> = 0...1
    let metadata: MetadataService
    /// What this listener is: brokers describe brokers, controllers controllers.
    var endpointType = EndpointType.broker
    /// On a controller listener: the listener name whose endpoints are listed, and where the active controller's
    /// id comes from (the quorum's leader).
    var controllerListenerName = ""
    var driver: RaftDriver?
    /// For the cluster's authorized operations (nil: no authorizer, every operation).
    var authorizer: BrokerAuthorizer?

    func handle(_ request: DescribeClusterRequest, context: RequestContext) -> EventLoopFuture<DescribeClusterResponse>
    {
        var response = describe(request, version: context.apiVersion, listener: context.listenerName)
        if request.includeClusterAuthorizedOperations {
            response.clusterAuthorizedOperations = BrokerAuthorizer.authorizedOperations(
                authorizer, context, .cluster, AclResourceType.clusterName)
        }
        return context.eventLoop.makeSucceededFuture(response)
    }

    func describe(_ request: DescribeClusterRequest, version: Int16, listener: String? = nil)
        -> DescribeClusterResponse
    {
        let image = metadata.publisher.image
        let requested = version >= 1 ? request.endpointType : EndpointType.broker.rawValue
        var response = DescribeClusterResponse()
        response.endpointType = endpointType.rawValue
        guard let type = EndpointType(rawValue: requested) else {
            response.errorCode = (version == 0 ? ErrorCode.invalidRequest : .unsupportedEndpointType).rawValue
            response.errorMessage = "Unsupported endpoint type \(requested)"
            return response
        }
        guard type == endpointType else {
            response.errorCode = (version == 0 ? ErrorCode.invalidRequest : .mismatchedEndpointType).rawValue
            response.errorMessage =
                "The request was sent to an endpoint of type \(endpointType.name), but we wanted an endpoint of type "
                + type.name
            return response
        }
        response.clusterID = image.clusterID
        switch endpointType {
        case .broker:
            response.controllerID = image.controllerID
            response.brokers = metadata.liveBrokers(image, listener: listener).map {
                .init(brokerID: $0.nodeID, host: $0.host, port: $0.port, rack: $0.rack)
            }
        case .controller:
            guard image.supportsControllerRegistration else {
                return DescribeClusterResponse(
                    errorCode: ErrorCode.unsupportedVersion.rawValue,
                    errorMessage: "Direct-to-controller communication is not supported with the current "
                        + "MetadataVersion.")
            }
            let controllers = image.controllers(listener: controllerListenerName)
            response.brokers = controllers.map { .init(brokerID: $0.nodeID, host: $0.host, port: $0.port) }
            // A leader not registered yet is -1, so a client never looks for a controller it cannot find.
            let leader = driver?.status.role.leaderID ?? -1
            response.controllerID = controllers.contains { $0.nodeID == leader } ? leader : -1
        }
        return response
    }
}
