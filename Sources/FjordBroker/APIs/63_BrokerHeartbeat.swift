// BrokerHeartbeat v0-v1, controller listener only (KIP-631): refreshes the broker's session, fences, unfences or
// moves it through controlled shutdown; the records are committed before the answer. NOT_CONTROLLER off the
// active controller; STALE_BROKER_EPOCH for another incarnation.
import FjordController
import KafkaProtocol
import NIOCore

/// A broker's heartbeat to the active controller (`ClusterControl.heartbeat`, run as a metadata command).
///
/// Its arrival is noted in the sessions on the event loop first: the command then waits for the command lock behind
/// other commands (each holds it until its records commit), and the session expiry check must not fence a broker
/// whose heartbeat is already here — Kafka's controller processes heartbeats in arrival order before a later fencing
/// check, this is the same guarantee.
struct BrokerHeartbeatHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    /// Notes the arrival on the event loop, then runs the command on the I/O pool (it blocks until its records
    /// commit).
    let execution = HandlerExecution.eventLoop
    let services: BrokerServices
    let driver: RaftDriver
    let sessions: BrokerSessions

    func handle(_ request: BrokerHeartbeatRequest, context: RequestContext) -> EventLoopFuture<
        BrokerHeartbeatResponse
    > {
        let (services, driver, sessions) = (self.services, self.driver, self.sessions)
        let status = driver.status
        if status.isLeader {
            sessions.noteArrival(of: request, image: services.metadata.publisher.image, epoch: status.role.epoch)
        }
        return services.blocking(on: context.eventLoop) {
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
