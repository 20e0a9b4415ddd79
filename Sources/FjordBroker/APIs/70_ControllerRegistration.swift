// ControllerRegistration v0, controller listener only (KIP-919): a controller registers its incarnation, controller
// listeners and supported features; the RegisterControllerRecord is committed through the quorum before the answer.
// NOT_CONTROLLER off the active controller; UNSUPPORTED_VERSION below metadata.version 3.7-IV0.
import FjordController
import KafkaProtocol
import NIOCore

/// Registers a controller with the active controller (`ClusterControl.registerController`, run as a metadata
/// command); sent by each controller's `ControllerRegistrationManager`.
struct ControllerRegistrationHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    /// Blocks until the record commits: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: ControllerRegistrationRequest, context: RequestContext) -> EventLoopFuture<
        ControllerRegistrationResponse
    > {
        let services = self.services
        return context.eventLoop.makeCompletedFuture {
            let result: ItemResult
            do {
                result = try services.metadata.execute { image in
                    ClusterControl(image: image).registerController(request)
                }
            } catch let error as MetadataCommandError {
                result = ItemResult(error.code, error.message)
            }
            if result.isOK {
                services.logger.info(
                    "controller registered",
                    metadata: ["controller": "\(request.controllerID)", "incarnation": "\(request.incarnationID)"])
            }
            return ControllerRegistrationResponse(
                errorCode: result.error.rawValue, errorMessage: result.isOK ? nil : result.message)
        }
    }
}
