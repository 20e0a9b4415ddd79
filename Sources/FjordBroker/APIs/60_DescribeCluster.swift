// DescribeCluster v0-v1: cluster id, controller and brokers (endpoint type 1, brokers; v1 rejects others with
// MISMATCHED_ENDPOINT_TYPE).
import KafkaProtocol
import NIOCore

struct DescribeClusterHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    let metadata: MetadataService

    func handle(_ request: DescribeClusterRequest, context: RequestContext) -> EventLoopFuture<DescribeClusterResponse>
    {
        let image = metadata.publisher.image
        var response = DescribeClusterResponse(clusterID: image.clusterID, controllerID: image.controllerID)
        if context.apiVersion >= 1, request.endpointType != 1 {
            response.errorCode = ErrorCode.mismatchedEndpointType.rawValue
            response.errorMessage =
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type \(request.endpointType == 2 ? "CONTROLLER" : "UNKNOWN")"
            return context.eventLoop.makeSucceededFuture(response)
        }
        response.brokers = metadata.liveBrokers(image).map { .init(brokerID: $0.nodeID, host: $0.host, port: $0.port, rack: $0.rack) }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
