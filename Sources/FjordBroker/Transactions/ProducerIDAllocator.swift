import FjordController
import KafkaProtocol
import NIOConcurrencyHelpers

/// Hands out producer ids from blocks reserved in the metadata log (`ProducerIDCommands`). Blocking when a new
/// block must be committed.
final class ProducerIDAllocator: Sendable {
    private let metadata: MetadataService
    private let nodeID: NodeID
    /// The ids left in the current block. Held across the commit of a new block, so one commit runs at a time.
    private let available = NIOLockedValueBox<ClosedRange<Int64>?>(nil)

    init(metadata: MetadataService, nodeID: NodeID) {
        self.metadata = metadata
        self.nodeID = nodeID
    }

    func next() throws -> Int64 {
        try available.withLockedValue { available in
            if let block = available {
                let id = block.lowerBound
                available = id < block.upperBound ? (id + 1)...block.upperBound : nil
                return id
            }
            let reserved = try metadata.execute { image in
                ProducerIDCommands.allocateBlock(image: image, brokerID: nodeID)
            }
            available =
                reserved.lowerBound < reserved.upperBound ? (reserved.lowerBound + 1)...reserved.upperBound : nil
            return reserved.lowerBound
        }
    }
}
