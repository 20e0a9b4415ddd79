// FetchSnapshot v0-v1, controller listener only: chunks of the leader's latest snapshot, at most max_bytes each.
import FjordRaft
import KafkaProtocol
import NIOCore

/// A replica whose fetch offset fell below the leader's log start pulls the snapshot the leader named.
struct FetchSnapshotHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    let driver: RaftDriver

    func handle(_ request: FetchSnapshotRequest, context: RequestContext) -> EventLoopFuture<FetchSnapshotResponse> {
        let message: RaftMessage.FetchSnapshotRequest
        do {
            message = try RaftWire.message(request, correlationID: context.header.correlationID)
        } catch {
            return context.eventLoop.makeSucceededFuture(RaftWire.fetchSnapshotRefusal(error))
        }
        return driver.ask(.fetchSnapshotRequest(message), from: message.replicaID, on: context.eventLoop).map {
            answer in
            guard case .fetchSnapshotResponse(let response) = answer else {
                return FetchSnapshotResponse(errorCode: ErrorCode.requestTimedOut.rawValue)
            }
            return RaftWire.wire(response)
        }
    }
}
