import FjordController
import Foundation
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Hands out producer ids from blocks reserved in the metadata log (`ProducerIDCommands`). A node alone, or the
/// active controller, commits the block itself; any other broker of a KRaft cluster asks the active controller for
/// one with AllocateProducerIds (KIP-730), as Kafka's `RPCProducerIdManager` does. Blocking when a new block is
/// needed.
final class ProducerIDAllocator: Sendable {
    /// How long a broker keeps asking for a block (the controller may be electing a leader) before it gives up.
    static let requestDeadline: TimeInterval = 15

    private let metadata: MetadataService
    private let nodeID: NodeID
    /// The ids left in the current block. Held across the commit or request of a new block, so one runs at a time.
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
            let reserved = try reserveBlock()
            available =
                reserved.lowerBound < reserved.upperBound ? (reserved.lowerBound + 1)...reserved.upperBound : nil
            return reserved.lowerBound
        }
    }

    /// A new block: committed here when this node may commit, else asked of the active controller.
    private func reserveBlock() throws -> ClosedRange<Int64> {
        guard let quorum = metadata.quorum, !quorum.driver.status.isLeader else {
            return try metadata.execute { image in ProducerIDCommands.allocateBlock(image: image, brokerID: nodeID) }
        }
        let deadline = Date().addingTimeInterval(Self.requestDeadline)
        var lastFailure = "no active controller known"
        while Date() < deadline {
            let status = quorum.driver.status
            if status.isLeader {
                return try metadata.execute { image in
                    ProducerIDCommands.allocateBlock(image: image, brokerID: nodeID)
                }
            }
            if let leader = status.role.leaderID, quorum.driver.peers.knows(leader) {
                let epoch = metadata.publisher.image.brokerRegistrations[nodeID]?.epoch ?? -1
                let request = AllocateProducerIDsRequest(brokerID: nodeID, brokerEpoch: epoch)
                let remaining = max(0.1, deadline.timeIntervalSinceNow)
                let sent = quorum.driver.peers.forward(
                    request, version: 0, to: leader, timeout: .milliseconds(Int64(remaining * 1000)))
                switch BlockingWait.result(of: sent, timeoutSeconds: remaining + 1) {
                case .success(let response) where response.errorCode == 0 && response.producerIDLen > 0:
                    return response.producerIDStart...(response.producerIDStart + Int64(response.producerIDLen) - 1)
                case .success(let response):
                    lastFailure = "node \(leader) answered \(ErrorCode(rawValue: response.errorCode))"
                case .failure(let error):
                    lastFailure = "AllocateProducerIds to node \(leader) failed: \(error)"
                }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw MetadataCommandError(code: .coordinatorNotAvailable, message: "no producer id block: \(lastFailure)")
    }
}
