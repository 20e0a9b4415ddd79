// BeginQuorumEpoch v0-v1, controller listener only. Leader endpoints (v1) are not read: voters know each other from
// the quorum's configuration.
import FjordRaft
import KafkaProtocol
import NIOCore

/// A new leader announces its epoch to this voter.
struct BeginQuorumEpochHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    let driver: RaftDriver

    func handle(_ request: BeginQuorumEpochRequest, context: RequestContext) -> EventLoopFuture<
        BeginQuorumEpochResponse
    > {
        let message: RaftMessage.BeginQuorumEpochRequest
        do {
            message = try RaftWire.message(request, correlationID: context.header.correlationID)
        } catch {
            return context.eventLoop.makeSucceededFuture(RaftWire.beginQuorumEpochRefusal(error))
        }
        return driver.answer(.beginQuorumEpochRequest(message), from: message.leaderID, on: context.eventLoop) {
            guard case .beginQuorumEpochResponse(let response) = $0 else { return nil }
            return RaftWire.wire(response)
        } timedOut: {
            BeginQuorumEpochResponse(errorCode: ErrorCode.requestTimedOut.rawValue)
        }
    }
}
