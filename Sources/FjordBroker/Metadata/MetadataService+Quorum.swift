import FjordController
import Foundation
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Commands through the metadata quorum, and the quorum's committed log applied to the image.
extension MetadataService: RaftStateMachine {
    /// Proposes the command's records on the leader and waits until they are committed and applied. A leader whose
    /// first batch has not committed yet is waited for (`leaderReadyTimeout`); the command is evaluated again on
    /// each attempt, against the image as it then is.
    func execute<Response>(_ command: (MetadataImage) -> ControllerResult<Response>, through quorum: Quorum) throws
        -> Response
    {
        let readyDeadline = Date().addingTimeInterval(Self.leaderReadyTimeout)
        while true {
            let status = quorum.driver.status
            guard status.isLeader else {
                let leader = status.role.leaderID.map { "\($0)" } ?? "unknown"
                throw MetadataCommandError(
                    code: .notController, message: "this node is not the active controller (leader: \(leader))")
            }
            let result = command(publisher.image)
            guard !result.records.isEmpty else { return result.response }
            let outcome = Self.wait(
                for: quorum.driver.propose(result.records.map { $0.encoded() }, on: quorum.eventLoop),
                timeout: Self.commitTimeout)
            switch outcome {
            case .success:
                return result.response
            case .failure(let error as RaftDriverError) where error.code == .leaderNotReady && Date() < readyDeadline:
                Thread.sleep(forTimeInterval: 0.02)
            case .failure(let error as RaftDriverError) where error.code == .timedOut:
                throw MetadataCommandError(code: .requestTimedOut, message: error.message)
            case .failure(let error):
                throw MetadataCommandError(code: .notController, message: "\(error)")
            }
        }
    }

    /// Blocks the calling thread (a pool thread, never an event loop) until `future` completes or `timeout` passes.
    private static func wait<T: Sendable>(for future: EventLoopFuture<T>, timeout: TimeInterval) -> Result<
        T, any Error
    > {
        let outcome = NIOLockedValueBox<Result<T, any Error>?>(nil)
        let done = ConditionLock(value: false)
        future.whenComplete { result in
            outcome.withLockedValue { $0 = result }
            done.lock()
            done.unlock(withValue: true)
        }
        guard done.lock(whenValue: true, timeoutSeconds: timeout) else {
            return .failure(RaftDriverError(.timedOut, "the records were not committed within \(Int(timeout)) s"))
        }
        done.unlock()
        return outcome.withLockedValue { $0! }
    }

    func applyCommitted(_ records: [ByteBuffer], offsets: [Int64]) throws {
        var decoded = [(MetadataRecord, Int64)]()
        for (value, offset) in zip(records, offsets) {
            guard let record = try MetadataRecord(decoding: value) else { continue }
            decoded.append((record, offset))
        }
        let image = updateImage { image in
            for (record, offset) in decoded { image.replay(record, offset: offset) }
        }
        if replicasFollowImage.withLockedValue({ $0 }) { try replicas.apply(image) }
    }

    func caughtUp() throws {
        replicasFollowImage.withLockedValue { $0 = true }
        try replicas.apply(publisher.image)
    }

    func replace(withSnapshot records: [ByteBuffer], endOffset: Int64) throws {
        // How long a large image takes to rebuild at start-up: logged, for the metadata benchmark.
        let started = ContinuousClock.now
        var image = baseImage
        for (index, value) in records.enumerated() {
            guard let record = try MetadataRecord(decoding: value) else { continue }
            image.replay(record, offset: endOffset - Int64(records.count) + Int64(index))
        }
        // Brokers known from configuration only (a node alone: its advertised port) are kept as they are now;
        // registered ones come from the snapshot.
        updateImage { current in
            image.brokers = current.brokers.filter { current.brokerRegistrations[$0.nodeID]?.epoch == -1 }
            current = image
        }
        let replayed = ContinuousClock.now - started
        if replicasFollowImage.withLockedValue({ $0 }) { try replicas.apply(image) }
        logger.info(
            "metadata image replaced by a snapshot",
            metadata: [
                "end.offset": "\(endOffset)", "topics": "\(image.topicsByName.count)", "records": "\(records.count)",
                "replay.ms": "\(Self.milliseconds(replayed))",
            ])
    }

    /// A duration in milliseconds with one decimal, for log lines.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }

    func snapshotRecords() -> [ByteBuffer] {
        publisher.image.snapshotRecords().map { $0.encoded() }
    }
}
