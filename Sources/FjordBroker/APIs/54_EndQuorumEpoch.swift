// EndQuorumEpoch v0-v1, controller listener only. v0 names preferred successors by id, v1 by replica key.
import FjordRaft
import KafkaProtocol
import NIOCore

/// A resigning leader tells this voter to elect a successor now rather than after the fetch timeout.
struct EndQuorumEpochHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    let driver: RaftDriver

    func handle(_ request: EndQuorumEpochRequest, context: RequestContext) -> EventLoopFuture<
        EndQuorumEpochResponse
    > {
        let message: RaftMessage.EndQuorumEpochRequest
        do {
            message = try RaftWire.message(
                request, correlationID: context.header.correlationID, version: context.apiVersion)
        } catch {
            return context.eventLoop.makeSucceededFuture(RaftWire.endQuorumEpochRefusal(error))
        }
        return driver.answer(.endQuorumEpochRequest(message), from: message.leaderID, on: context.eventLoop) {
            guard case .endQuorumEpochResponse(let response) = $0 else { return nil }
            return RaftWire.wire(response)
        } timedOut: {
            EndQuorumEpochResponse(errorCode: ErrorCode.requestTimedOut.rawValue)
        }
    }
}
