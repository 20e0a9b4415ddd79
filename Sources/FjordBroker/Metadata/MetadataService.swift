import FjordController
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Commands → metadata records → committed log → image. Two ways to commit, one replay path:
///
/// - **Alone** (no `process.roles`): the records are appended (and fsynced) to the local `__cluster_metadata` log,
///   then replayed into a new `MetadataImage` that is published and applied to the replicas. At start-up the whole
///   log is replayed the same way (`load`).
/// - **Through the quorum** (`attach(quorum:)`, KRaft mode): on the active controller (the Raft leader) the records
///   are proposed to the `RaftDriver`; the command answers once they are committed by a majority and replayed here
///   (`applyCommitted`, called by the driver for every committed batch, on every node). A node that does not lead
///   refuses with `MetadataCommandError.notController`.
///
/// Commands run one at a time (`commandLock`) and block (fsync, or the wait for the commit): call `execute` from a
/// thread pool. The lock guards no value of its own — the metadata log, the published image and the replicas each
/// have their own owner — it orders the commands: it is held across a command's commit.
final class MetadataService: Sendable {
    static let topicName = "__cluster_metadata"
    static let topicPartition = TopicPartition(topicName, 0)
    /// How long a command waits for its records to commit before it answers REQUEST_TIMED_OUT.
    static let commitTimeout: TimeInterval = 30
    /// How long a new leader's command waits for the leader's first batch to commit.
    static let leaderReadyTimeout: TimeInterval = 5

    let publisher: MetadataPublisher
    let log: PartitionLog
    let replicas: ReplicaManager
    let logger: Logger
    private let commandLock = NIOLock()
    /// The image before any record: what a snapshot's records are replayed onto.
    let baseImage: MetadataImage
    private let quorumBox = NIOLockedValueBox<Quorum?>(nil)
    /// Through the quorum: whether the image has caught up with the log (`caughtUp`). Until then images are
    /// published but not applied to the replicas, which would delete the logs of topics not replayed yet.
    let replicasFollowImage = NIOLockedValueBox(true)

    /// The quorum commands go through, and an event loop for its answers.
    struct Quorum: Sendable {
        var driver: RaftDriver
        var eventLoop: any EventLoop
    }

    /// The listener clients reach brokers on, in KRaft mode: Metadata, DescribeCluster and FindCoordinator list
    /// each live broker at its endpoint of this name (`liveBrokers`). Nil for a node alone.
    let clientListenerName: String?

    init(
        log: PartitionLog, publisher: MetadataPublisher, replicas: ReplicaManager, logger: Logger,
        clientListenerName: String? = nil
    ) {
        self.clientListenerName = clientListenerName
        self.log = log
        self.publisher = publisher
        self.replicas = replicas
        self.logger = logger
        self.baseImage = publisher.image
    }

    /// A node alone: its advertised endpoint of each broker listener, by listener name (set once bound), so that a
    /// client is told the address of the listener it came in on.
    let localEndpoints = NIOLockedValueBox<[String: MetadataImage.Broker]>([:])

    /// The unfenced brokers as clients reach them: at their endpoint of `listener` — the listener the request came
    /// in on (Kafka lists only brokers reachable on the client's listener) — else of `clientListenerName`; a node
    /// alone lists itself at its endpoint of that listener.
    func liveBrokers(_ image: MetadataImage, listener: String? = nil) -> [MetadataImage.Broker] {
        if let clientListenerName {
            if let listener, listener != clientListenerName {
                let onListener = image.brokers(listener: listener)
                if !onListener.isEmpty { return onListener }
            }
            return image.brokers(listener: clientListenerName)
        }
        guard let listener, let own = localEndpoints.withLockedValue({ $0[listener] }) else { return image.brokers }
        return image.brokers.map { broker in
            guard broker.nodeID == own.nodeID else { return broker }
            return MetadataImage.Broker(nodeID: broker.nodeID, host: own.host, port: own.port, rack: broker.rack)
        }
    }

    /// The storage settings of the metadata log: kept whole, never deleted by retention.
    static var logConfiguration: LogConfiguration {
        var configuration = LogConfiguration()
        configuration.retentionMs = -1
        configuration.deleteRetentionEnabled = false
        configuration.segmentBytesMax = 64 * 1024 * 1024
        return configuration
    }

    /// Orders the read-modify-publish steps of the image that do not run under `commandLock`: the quorum's
    /// commits (driver thread) and the start-up patch of the advertised port. A leaf lock, held for no I/O.
    let imageLock = NIOLock()

    /// Changes the published image in one step with respect to the quorum's commits; returns the new image.
    @discardableResult
    func updateImage(_ body: (inout MetadataImage) -> Void) -> MetadataImage {
        imageLock.withLock {
            var image = publisher.image
            body(&image)
            publisher.publish(image)
            return image
        }
    }

    /// From now on commands commit through `quorum` (KRaft mode).
    func attach(quorum: Quorum) {
        quorumBox.withLockedValue { $0 = quorum }
    }

    /// Before the quorum's driver loads: images are not applied to the replicas until it has caught up.
    func awaitQuorumCatchUp() {
        replicasFollowImage.withLockedValue { $0 = false }
    }

    /// The quorum commands go through, if any.
    var quorum: Quorum? { quorumBox.withLockedValue { $0 } }

    /// Replays every record of the log into the published image and applies it to the replicas (a node alone).
    func load() throws {
        var image = publisher.image
        var offset = log.logStartOffset
        var replayed = 0
        while offset < log.logEndOffset {
            let read = try log.read(from: offset, maximumBytes: 1 << 20, upperBound: log.logEndOffset)
            guard let slice = read.slice else { break }
            let bytes = try log.bytes(of: slice)
            for batch in try RecordBatchSequence(bytes, mode: .fetch).batches() {
                if !batch.isControl {
                    for record in try batch.records() {
                        guard let value = record.value, let decoded = try MetadataRecord(decoding: value) else {
                            continue
                        }
                        image.replay(decoded, offset: record.offset)
                        replayed += 1
                    }
                }
                offset = batch.nextOffset
            }
        }
        publisher.publish(image)
        try replicas.apply(image)
        logger.info("metadata loaded", metadata: ["records": "\(replayed)", "topics": "\(image.topicsByName.count)"])
    }

    /// Runs a controller command against the current image; commits its records before returning its response
    /// (append, fsync, replay, publish, apply — or, through the quorum, propose and wait until committed and
    /// applied). Blocking.
    func execute<Response>(_ command: (MetadataImage) -> ControllerResult<Response>) throws -> Response {
        try commandLock.withLock {
            guard let quorum else {
                let result = command(publisher.image)
                if !result.records.isEmpty { try commit(result.records) }
                return result.response
            }
            return try execute(command, through: quorum)
        }
    }

    /// `execute` for a command answered per item: a refusal of the whole command (not the active controller, not
    /// committed in time) becomes that item's answer, so the client gets a retriable error code instead of a
    /// closed connection.
    func executeItem(_ command: (MetadataImage) -> ControllerResult<ItemResult>) throws -> ItemResult {
        do {
            return try execute(command)
        } catch let refusal as MetadataCommandError {
            return ItemResult(refusal.code, refusal.message)
        }
    }

    private func commit(_ records: [MetadataRecord]) throws {
        var builder = RecordBatchBuilder()
        let now = SystemStorageClock().nowMilliseconds()
        for record in records {
            builder.append(timestamp: now, key: nil, value: record.encoded())
        }
        let appended = try log.append(try builder.build().buffer, leaderEpoch: 0)
        try log.flush()
        var image = publisher.image
        for (index, record) in records.enumerated() {
            image.replay(record, offset: appended.firstOffset + Int64(index))
        }
        publisher.publish(image)
        try replicas.apply(image)
    }
}
