import FjordController
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordBroker

/// A replica opened at start-up takes its high watermark from the previous run's `replication-offset-checkpoint`,
/// kept within its log; without an entry it starts at its log start.
@Suite struct ReplicaHighWatermarkCheckpointTests {
    @Test func aReopenedReplicaStartsFromItsCheckpointedHighWatermarkWithinItsLog() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-hw-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let partition = TopicPartition("t", 0)
        let log = try PartitionLog(
            directory: directory, topicPartition: partition, topicID: KafkaUUID(high: 1, low: 1),
            configuration: LogConfiguration())
        for _ in 0..<5 {
            var builder = RecordBatchBuilder(options: RecordBatchBuilder.Options())
            for index in 0..<2 {
                builder.append(timestamp: 1_700_000_000_000, key: nil, value: ByteBuffer(string: "v\(index)"))
            }
            _ = try log.append(try builder.build().buffer, leaderEpoch: 0)
        }
        #expect(log.logEndOffset == 10)
        let config = EffectiveTopicConfig(
            topic: nil, image: MetadataImage(clusterID: "c", controllerID: 1, brokers: []), brokerProperties: [:])
        func opened(_ checkpoint: Int64?) -> Int64 {
            PartitionReplica(
                topicPartition: partition, topicID: KafkaUUID(high: 1, low: 1), log: log, localID: 1, config: config,
                checkpointedHighWatermark: checkpoint
            ).highWatermark
        }
        #expect(opened(6) == 6)
        #expect(opened(nil) == 0)
        // A checkpoint past the log end (the log lost a suffix it had not fsynced) stops at the log end.
        #expect(opened(50) == 10)
        _ = try log.advanceLogStartOffset(to: 4)
        #expect(opened(2) == 4)
    }
}
