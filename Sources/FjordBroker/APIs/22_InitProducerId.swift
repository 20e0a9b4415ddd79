// InitProducerId v0-v5 for idempotent producers (no transactional id): a fresh producer id from a block reserved
// in the metadata log, epoch 0. Transactional ids are refused until transactions exist.
import FjordController
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

struct InitProducerIDHandler: APIHandler {
    let versions: ClosedRange<Int16> = 0...5
    let services: BrokerServices
    let allocator: ProducerIDAllocator

    func handle(_ request: InitProducerIDRequest, context: RequestContext) -> EventLoopFuture<InitProducerIDResponse> {
        guard request.transactionalID == nil else {
            return context.eventLoop.makeSucceededFuture(InitProducerIDResponse(errorCode: ErrorCode.invalidRequest.rawValue, producerID: -1, producerEpoch: -1))
        }
        let allocator = self.allocator
        return services.blocking(on: context.eventLoop) { try allocator.next() }
            .map { InitProducerIDResponse(errorCode: 0, producerID: $0, producerEpoch: 0) }
            .flatMapErrorThrowing { _ in InitProducerIDResponse(errorCode: ErrorCode.coordinatorNotAvailable.rawValue, producerID: -1, producerEpoch: -1) }
    }
}

/// Hands out producer ids from blocks reserved in the metadata log (`ProducerIDCommands`). Blocking when a new
/// block must be committed.
final class ProducerIDAllocator: @unchecked Sendable {
    private let metadata: MetadataService
    private let nodeID: Int32
    private let lock = NIOLock()
    /// Guarded by `lock`: the ids left in the current block.
    private var available: ClosedRange<Int64>?

    init(metadata: MetadataService, nodeID: Int32) {
        self.metadata = metadata
        self.nodeID = nodeID
    }

    func next() throws -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        if let block = available {
            let id = block.lowerBound
            available = id < block.upperBound ? (id + 1)...block.upperBound : nil
            return id
        }
        let reserved = try metadata.execute { image in ProducerIDCommands.allocateBlock(image: image, brokerID: nodeID) }
        available = reserved.lowerBound < reserved.upperBound ? (reserved.lowerBound + 1)...reserved.upperBound : nil
        return reserved.lowerBound
    }
}
