// BrokerRegistration v0-v4, controller listener only (KIP-631): a broker incarnation joins the cluster fenced; the
// RegisterBrokerRecord is committed through the quorum before the answer. NOT_CONTROLLER off the active controller.
import FjordController
import KafkaProtocol
import Logging
import NIOCore

/// Registers a broker with the active controller (`ClusterControl.registerBroker`, run as a metadata command).
struct BrokerRegistrationHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...4
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices
    let driver: RaftDriver
    let sessions: BrokerSessions

    func handle(_ request: BrokerRegistrationRequest, context: RequestContext) -> EventLoopFuture<
        BrokerRegistrationResponse
    > {
        let (services, driver, sessions) = (self.services, self.driver, self.sessions)
        return context.eventLoop.makeCompletedFuture {
            do {
                let reply = try services.metadata.execute { image in
                    sessions.register(
                        request, image: image, epoch: driver.status.role.epoch,
                        nextOffset: services.metadata.log.logEndOffset)
                }
                if !reply.result.isOK {
                    services.logger.warning(
                        "broker registration refused",
                        metadata: [
                            "broker": "\(request.brokerID)", "error": "\(reply.result.error)",
                            "reason": "\(reply.result.message ?? "")",
                        ])
                } else {
                    services.logger.info(
                        "broker registered",
                        metadata: ["broker": "\(request.brokerID)", "broker.epoch": "\(reply.brokerEpoch)"])
                }
                return reply.response
            } catch let error as MetadataCommandError {
                return BrokerRegistrationResponse(errorCode: error.code.rawValue, brokerEpoch: -1)
            }
        }
    }
}
