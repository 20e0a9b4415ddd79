// Fetch v4-v17 on the controller listener: `__cluster_metadata` partition 0 only, for voters (followers) and
// observers (brokers). The leader parks a caught-up fetch up to its max wait (the core's `fetchMaxWaitMs`).
import FjordRaft
import KafkaProtocol
import NIOCore

/// Serves the metadata log to the other controllers and to brokers; client fetches go to the broker listener.
struct ControllerFetchHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 4...17
    let driver: RaftDriver

    func handle(_ request: FetchRequest, context: RequestContext) -> EventLoopFuture<FetchResponse> {
        let message: RaftMessage.FetchRequest
        do {
            message = try RaftWire.message(
                request, correlationID: context.header.correlationID, version: context.apiVersion)
        } catch {
            return context.eventLoop.makeSucceededFuture(RaftWire.fetchRefusal(error))
        }
        return driver.ask(.fetchRequest(message), from: message.replicaID, on: context.eventLoop).flatMapThrowing {
            answer in
            guard case .fetchResponse(let response) = answer else {
                return FetchResponse(errorCode: ErrorCode.requestTimedOut.rawValue)
            }
            return try RaftWire.wire(response)
        }
    }
}
