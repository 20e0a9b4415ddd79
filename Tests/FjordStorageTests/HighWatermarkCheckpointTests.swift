import FjordTestSupport
import Foundation
import KafkaProtocol
import Synchronization
import Testing

@testable import FjordStorage

/// `replication-offset-checkpoint`: written per data directory from the registered source, in Kafka's offset
/// checkpoint text, read back by the next run; a malformed file is ignored rather than failing the start.
@Suite struct HighWatermarkCheckpointTests {
    @Test func eachDataDirectoryGetsItsPartitionsHighWatermarksAndTheNextRunReadsThem() throws {
        // Flow:
        // 1. Two data directories, partitions spread over both; no source yet: checkpointing writes nothing.
        // 2. With a source (one partition has no log here: it is left out), each directory's file lists its own
        //    partitions in Kafka's format; shutdown writes the latest values.
        // 3. A new manager on the same directories reads every partition's high watermark.
        // 4. A malformed file in one directory: its entries are skipped, the other directory's still read.
        let first = StorageFixtures.temporaryDirectory()
        let second = StorageFixtures.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        let manager = LogManager(dataDirectories: [first, second], clock: ManualClock())
        let partitions = [TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)]
        for partition in partitions {
            _ = try manager.createLog(partition, topicID: KafkaUUIDFixture.id, configuration: LogConfiguration())
        }
        try manager.checkpointHighWatermarks()
        let files = [first, second].map { $0 + "/" + LogManager.replicationCheckpoint }
        #expect(files.allSatisfy { !FileManager.default.fileExists(atPath: $0) })

        let marks = Mutex<[TopicPartition: Int64]>([
            TopicPartition("a", 0): 10, TopicPartition("a", 1): 20, TopicPartition("b", 0): 30,
            TopicPartition("gone", 0): 99,
        ])
        manager.setHighWatermarkSource { marks.withLock { $0 } }
        try manager.checkpointHighWatermarks()
        let texts = try files.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let lines = texts.flatMap { $0.split(separator: "\n").dropFirst(2) }.sorted()
        #expect(lines == ["a 0 10", "a 1 20", "b 0 30"])
        #expect(texts.allSatisfy { $0.hasPrefix("0\n") })
        marks.withLock { $0[TopicPartition("b", 0)] = 31 }
        try manager.shutdown()

        let reopened = LogManager(dataDirectories: [first, second], clock: ManualClock())
        try reopened.loadExisting { _ in LogConfiguration() }
        #expect(
            reopened.readHighWatermarks() == [
                TopicPartition("a", 0): 10, TopicPartition("a", 1): 20, TopicPartition("b", 0): 31,
            ])
        let broken = files.first { try! String(contentsOfFile: $0, encoding: .utf8).contains("b 0") }!
        let intact = try String(contentsOfFile: files.first { $0 != broken }!, encoding: .utf8)
        let intactPartitions = intact.split(separator: "\n").dropFirst(2).map { line in
            let fields = line.split(separator: " ")
            return TopicPartition(String(fields[0]), Int32(fields[1])!)
        }
        try "0\n5\nnot a checkpoint\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let survivors = reopened.readHighWatermarks()
        #expect(Set(survivors.keys) == Set(intactPartitions))
        try reopened.shutdown()
    }
}
