// Vote v0-v1, controller listener only. KIP-996's pre-vote rides in tagged field 0 of the partition (`RaftWire+Vote`).
import FjordRaft
import KafkaProtocol
import NIOCore

/// A candidate (or prospective candidate) asks this voter for its vote; the core decides.
struct VoteHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    let driver: RaftDriver

    func handle(_ request: VoteRequest, context: RequestContext) -> EventLoopFuture<VoteResponse> {
        let message: RaftMessage.VoteRequest
        do {
            message = try RaftWire.message(request, correlationID: context.header.correlationID)
        } catch {
            return context.eventLoop.makeSucceededFuture(RaftWire.voteRefusal(error))
        }
        return driver.ask(.voteRequest(message), from: message.candidateID, on: context.eventLoop).map { answer in
            guard case .voteResponse(let response) = answer else {
                return VoteResponse(errorCode: ErrorCode.requestTimedOut.rawValue)
            }
            return RaftWire.wire(response)
        }
    }
}
