import FjordController
import Foundation
import KafkaProtocol
import NIOCore

/// A broker's own metadata requests on a quorum node that is not the active controller: topic auto-creation
/// (Metadata and Produce with `auto.create.topics.enable`) is a CreateTopics sent to the active controller, as Kafka's
/// `AutoTopicCreationManager` does, because only the active controller may commit records.
extension MetadataService {
    /// How long a broker's own forwarded request may wait for a leader and its answer.
    static let forwardTimeout: TimeInterval = 15
    /// How long a broker waits for its image to show what the controller committed for it.
    static let replayWait: TimeInterval = 5

    /// Sends `request` (at `version`) to the active controller's controller listener and returns its answer; nil when
    /// the command should run here instead (`execute`): a node alone, or the quorum's leader. A forward that fails
    /// (the leader moved or died) is tried again until `forwardTimeout`; then NOT_CONTROLLER. Blocking: a pool
    /// thread only.
    func forwardToActiveController<Request: KafkaRequest>(_ request: Request, version: Int16) throws
        -> Request.Response?
    {
        guard let quorum else { return nil }
        let peers = quorum.driver.peers
        let deadline = Date().addingTimeInterval(Self.forwardTimeout)
        let localID = quorum.driver.configuration.raft.nodeID
        var lastFailure = "no leader known"
        while Date() < deadline {
            let status = quorum.driver.status
            if status.isLeader { return nil }
            if let leader = status.role.leaderID, leader != localID, peers.knows(leader) {
                let remaining = max(0.1, deadline.timeIntervalSinceNow)
                let sent = peers.forward(
                    request, version: version, to: leader, timeout: .milliseconds(Int64(remaining * 1000)))
                switch BlockingWait.result(of: sent, timeoutSeconds: remaining + 1) {
                case .success(let response): return response
                case .failure(let error): lastFailure = "forward to node \(leader) failed: \(error)"
                }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw MetadataCommandError(code: .notController, message: "no active controller answered: \(lastFailure)")
    }

    /// Waits (bounded by `replayWait`) until the published image satisfies `condition`: what the active controller
    /// committed reaches this broker's image by replay, shortly after the controller answered. Blocking.
    @discardableResult
    func awaitImage(_ condition: (MetadataImage) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(Self.replayWait)
        while !condition(publisher.image) {
            guard Date() < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }
}
