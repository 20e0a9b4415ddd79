import FjordController
import FjordStorage
import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The single node's metadata quorum of one: commands become metadata records appended (and fsynced) to the
/// local `__cluster_metadata` log, then replayed into a new `MetadataImage` that is published and applied to
/// the replicas. At start-up the whole log is replayed the same way. This is the seam where Raft will sit.
///
/// Commands run one at a time (the service's lock, `commandLock`) and block on fsync: call `execute` from a thread
/// pool. The lock guards no value of its own — the metadata log, the published image and the replicas each have
/// their own owner — it orders the commands: it is held across a command's commit (append, fsync, replay,
/// publish, apply to the replicas).
final class MetadataService: Sendable {
    static let topicName = "__cluster_metadata"
    static let topicPartition = TopicPartition(topicName, 0)

    let publisher: MetadataPublisher
    private let log: PartitionLog
    private let replicas: ReplicaManager
    private let logger: Logger
    private let commandLock = NIOLock()

    init(log: PartitionLog, publisher: MetadataPublisher, replicas: ReplicaManager, logger: Logger) {
        self.log = log
        self.publisher = publisher
        self.replicas = replicas
        self.logger = logger
    }

    /// The storage settings of the metadata log: kept whole, never deleted by retention.
    static var logConfiguration: LogConfiguration {
        var configuration = LogConfiguration()
        configuration.retentionMs = -1
        configuration.deleteRetentionEnabled = false
        configuration.segmentBytesMax = 64 * 1024 * 1024
        return configuration
    }

    /// Replays every record of the log into the published image and applies it to the replicas.
    func load() throws {
        var image = publisher.image
        var offset = log.logStartOffset
        var replayed = 0
        while offset < log.logEndOffset {
            let read = try log.read(from: offset, maximumBytes: 1 << 20, upperBound: log.logEndOffset)
            guard let slice = read.slice else { break }
            let bytes = try log.bytes(of: slice)
            for batch in try RecordBatchSequence(bytes, mode: .fetch).batches() {
                for record in try batch.records() {
                    guard let value = record.value, let decoded = try MetadataRecord(decoding: value) else { continue }
                    image.replay(decoded, offset: record.offset)
                    replayed += 1
                }
                offset = batch.nextOffset
            }
        }
        publisher.publish(image)
        try replicas.apply(image)
        logger.info("metadata loaded", metadata: ["records": "\(replayed)", "topics": "\(image.topicsByName.count)"])
    }

    /// Runs a controller command against the current image; commits its records (append, fsync, replay, publish,
    /// apply) before returning its response. Blocking.
    func execute<Response>(_ command: (MetadataImage) -> ControllerResult<Response>) throws -> Response {
        try commandLock.withLock {
            let result = command(publisher.image)
            if !result.records.isEmpty { try commit(result.records) }
            return result.response
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
