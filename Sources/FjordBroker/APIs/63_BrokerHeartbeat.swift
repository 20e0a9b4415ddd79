// BrokerHeartbeat v0-v1, controller listener only (KIP-631): refreshes the broker's session, fences, unfences or
// moves it through controlled shutdown; the records are committed before the answer. NOT_CONTROLLER off the
// active controller; STALE_BROKER_EPOCH for another incarnation.
import FjordController
import KafkaProtocol
import NIOCore

/// A broker's heartbeat to the active controller (`ClusterControl.heartbeat`, run as a metadata command).
struct BrokerHeartbeatHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    /// Blocks until the records (if any) commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices
    let driver: RaftDriver
    let sessions: BrokerSessions

    func handle(_ request: BrokerHeartbeatRequest, context: RequestContext) -> EventLoopFuture<
        BrokerHeartbeatResponse
    > {
        let (services, driver, sessions) = (self.services, self.driver, self.sessions)
        return context.eventLoop.makeCompletedFuture {
            do {
                return try services.metadata.execute { image in
                    sessions.heartbeat(
                        request, image: image, epoch: driver.status.role.epoch,
                        nextOffset: services.metadata.log.logEndOffset)
                }.response
            } catch let error as MetadataCommandError {
                return BrokerHeartbeatResponse(errorCode: error.code.rawValue, isCaughtUp: false, isFenced: true)
            }
        }
    }
}
