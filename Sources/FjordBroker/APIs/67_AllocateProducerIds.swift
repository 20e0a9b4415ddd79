// AllocateProducerIds v0, controller listener only (KIP-730): a broker that is not the active controller asks it for
// a block of producer ids (its transaction coordinator and idempotent producers draw from it). The block is
// reserved by a ProducerIdsRecord committed through the quorum before the answer. STALE_BROKER_EPOCH when the broker
// epoch is not the broker's registered one, NOT_CONTROLLER off the active controller.
import FjordController
import KafkaProtocol
import NIOCore

/// Reserves a block of producer ids for a broker (`ProducerIDCommands.allocateBlock`, run as a metadata command).
struct AllocateProducerIDsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    /// Blocks until the record commits: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AllocateProducerIDsRequest, context: RequestContext) -> EventLoopFuture<
        AllocateProducerIDsResponse
    > {
        let services = self.services
        return context.eventLoop.makeCompletedFuture {
            do {
                // The block, or nil when the broker epoch is not the registered one.
                let block = try services.metadata.execute { image -> ControllerResult<ClosedRange<Int64>?> in
                    guard image.brokerRegistrations[request.brokerID]?.epoch == request.brokerEpoch else {
                        return ControllerResult(records: [], response: nil)
                    }
                    let result = ProducerIDCommands.allocateBlock(image: image, brokerID: request.brokerID)
                    return ControllerResult(records: result.records, response: result.response)
                }
                guard let block else {
                    return AllocateProducerIDsResponse(
                        errorCode: ErrorCode.staleBrokerEpoch.rawValue, producerIDStart: -1)
                }
                return AllocateProducerIDsResponse(producerIDStart: block.lowerBound, producerIDLen: Int32(block.count))
            } catch let error as MetadataCommandError {
                return AllocateProducerIDsResponse(errorCode: error.code.rawValue, producerIDStart: -1)
            } catch {
                return AllocateProducerIDsResponse(
                    errorCode: ErrorCode.unknownServerError.rawValue, producerIDStart: -1)
            }
        }
    }
}
