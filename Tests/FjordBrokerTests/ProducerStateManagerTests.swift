@testable import FjordBroker
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@Suite struct ProducerStateManagerTests {
    private func batch(_ first: Int32, _ last: Int32, offset: Int64) -> ProducerStateManager.BatchMetadata {
        .init(firstSequence: first, lastSequence: last, firstOffset: offset, lastOffset: offset + Int64(last - first), timestamp: 0)
    }

    @Test func sequencesEpochsAndDuplicatesFollowKafkasRules() {
        var state = ProducerStateManager()
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 3, lastSequence: 4) != .append)  // new producer must start at 0
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 0, lastSequence: 4) == .append)
        state.record(producerID: 7, epoch: 0, batch: batch(0, 4, offset: 100))
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 0, lastSequence: 4) == .duplicate(batch(0, 4, offset: 100)))
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 6, lastSequence: 6) == .reject(.outOfOrderSequenceNumber, state.rejectMessage(7, 0, 6, 4)))
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 5, lastSequence: 9) == .append)
        if case .reject(let error, _) = state.check(producerID: 7, epoch: -1, firstSequence: 5, lastSequence: 9) {
            #expect(error == .invalidProducerEpoch)
        } else {
            Issue.record("an older epoch must be fenced")
        }
        #expect(state.check(producerID: 7, epoch: 1, firstSequence: 0, lastSequence: 0) == .append)  // a bumped epoch restarts at 0
        // Only the last five batches are remembered.
        for index in 1...6 { state.record(producerID: 7, epoch: 0, batch: batch(Int32(index * 5), Int32(index * 5 + 4), offset: Int64(100 + index * 5))) }
        #expect(state.producers[7]?.batches.count == ProducerStateManager.cachedBatches)
    }

    @Test func stateIsRebuiltFromTheLogAfterARestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-pid-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try PartitionLog(directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUID(high: 1, low: 1), configuration: LogConfiguration())
        for sequence in stride(from: Int32(0), to: 15, by: 5) {
            var options = RecordBatchBuilder.Options()
            options.producerID = 42
            options.producerEpoch = 3
            options.baseSequence = sequence
            var builder = RecordBatchBuilder(options: options)
            for index in 0..<5 { builder.append(timestamp: 1, key: nil, value: ByteBuffer(string: "\(sequence + Int32(index))")) }
            _ = try log.append(try builder.build().buffer, leaderEpoch: 0)
        }
        let rebuilt = try ProducerStateManager.rebuilt(from: log)
        #expect(rebuilt.check(producerID: 42, epoch: 3, firstSequence: 10, lastSequence: 14) == .duplicate(.init(firstSequence: 10, lastSequence: 14, firstOffset: 10, lastOffset: 14, timestamp: 1)))
        #expect(rebuilt.check(producerID: 42, epoch: 3, firstSequence: 15, lastSequence: 19) == .append)
    }
}

extension ProducerStateManager {
    /// The message `check` gives for an out-of-order batch (kept in one place for the assertion above).
    func rejectMessage(_ producerID: Int64, _ epoch: Int16, _ first: Int32, _ currentLast: Int32) -> String {
        "Out of order sequence number for producer \(producerID) at epoch \(epoch): \(first) (incoming seq. number), \(currentLast) (current end sequence number)"
    }
}
