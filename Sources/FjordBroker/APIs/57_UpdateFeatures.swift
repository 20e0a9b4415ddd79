// UpdateFeatures v0-v2 (KIP-584, KIP-778): finalized feature levels, metadata.version among them. Served by the
// controller listener and, forwarded to the active controller as Kafka 4 does, by the broker listeners. All or
// nothing: INVALID_UPDATE_VERSION with Kafka's message for the first update refused; ValidateOnly (v1+) writes
// nothing; v2 answers no per-feature results. The FeatureLevelRecords are committed before the answer.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Changes finalized features on the active controller (`FeatureControl.updateFeatures`, run as a metadata command).
struct UpdateFeaturesHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...2
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: UpdateFeaturesRequest, context: RequestContext) -> EventLoopFuture<UpdateFeaturesResponse> {
        let services = self.services
        let version = context.apiVersion
        // ALTER on the cluster, as Kafka checks it.
        guard services.authorize(context, .alter, .cluster, AclResourceType.clusterName) else {
            return context.eventLoop.makeSucceededFuture(
                UpdateFeaturesResponse(
                    errorCode: ErrorCode.clusterAuthorizationFailed.rawValue,
                    errorMessage: "Cluster authorization failed."))
        }
        return context.eventLoop.makeCompletedFuture {
            do {
                let result = try services.metadata.execute { image in
                    FeatureControl(image: image, nodeID: services.configuration.nodeID)
                        .updateFeatures(request, version: version)
                }
                if result.isOK, !request.validateOnly {
                    services.logger.info(
                        "finalized features updated",
                        metadata: [
                            "features": "\(request.featureUpdates.map { "\($0.feature)=\($0.maxVersionLevel)" })"
                        ])
                }
                return FeatureControl.response(for: result, request: request, version: version)
            } catch let error as MetadataCommandError {
                return UpdateFeaturesResponse(errorCode: error.code.rawValue, errorMessage: error.message)
            }
        }
    }
}
