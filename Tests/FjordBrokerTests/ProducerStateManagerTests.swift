import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordBroker

@Suite struct ProducerStateManagerTests {
    private func batch(_ first: Int32, _ last: Int32, offset: Int64) -> ProducerStateManager.BatchMetadata {
        .init(
            firstSequence: first, lastSequence: last, firstOffset: offset, lastOffset: offset + Int64(last - first),
            timestamp: 0)
    }

    @Test func sequencesEpochsAndDuplicatesFollowKafkasRules() {
        var state = ProducerStateManager()
        // new producer must start at 0
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 3, lastSequence: 4) != .append)
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 0, lastSequence: 4) == .append)
        state.record(producerID: 7, epoch: 0, batch: batch(0, 4, offset: 100))
        #expect(
            state.check(producerID: 7, epoch: 0, firstSequence: 0, lastSequence: 4)
                == .duplicate(batch(0, 4, offset: 100)))
        #expect(
            state.check(producerID: 7, epoch: 0, firstSequence: 6, lastSequence: 6)
                == .reject(.outOfOrderSequenceNumber, state.rejectMessage(7, 0, 6, 4)))
        #expect(state.check(producerID: 7, epoch: 0, firstSequence: 5, lastSequence: 9) == .append)
        if case .reject(let error, _) = state.check(producerID: 7, epoch: -1, firstSequence: 5, lastSequence: 9) {
            #expect(error == .invalidProducerEpoch)
        } else {
            Issue.record("an older epoch must be fenced")
        }
        // a bumped epoch restarts at 0
        #expect(state.check(producerID: 7, epoch: 1, firstSequence: 0, lastSequence: 0) == .append)
        // Only the last five batches are remembered.
        for index in 1...6 {
            state.record(
                producerID: 7, epoch: 0,
                batch: batch(Int32(index * 5), Int32(index * 5 + 4), offset: Int64(100 + index * 5)))
        }
        #expect(state.producers[7]?.batches.count == ProducerStateManager.cachedBatches)
    }

    @Test func stateIsRebuiltFromTheLogAfterARestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-pid-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUID(high: 1, low: 1),
            configuration: LogConfiguration())
        for sequence in stride(from: Int32(0), to: 15, by: 5) {
            var options = RecordBatchBuilder.Options()
            options.producerID = 42
            options.producerEpoch = 3
            options.baseSequence = sequence
            var builder = RecordBatchBuilder(options: options)
            for index in 0..<5 {
                builder.append(timestamp: 1, key: nil, value: ByteBuffer(string: "\(sequence + Int32(index))"))
            }
            _ = try log.append(try builder.build().buffer, leaderEpoch: 0)
        }
        let rebuilt = try ProducerStateManager.rebuilt(from: log)
        #expect(
            rebuilt.check(producerID: 42, epoch: 3, firstSequence: 10, lastSequence: 14)
                == .duplicate(.init(firstSequence: 10, lastSequence: 14, firstOffset: 10, lastOffset: 14, timestamp: 1))
        )
        #expect(rebuilt.check(producerID: 42, epoch: 3, firstSequence: 15, lastSequence: 19) == .append)
    }
}

extension ProducerStateManager {
    /// The message `check` gives for an out-of-order batch (kept in one place for the assertion above).
    func rejectMessage(_ producerID: Int64, _ epoch: Int16, _ first: Int32, _ currentLast: Int32) -> String {
        "Out of order sequence number for producer \(producerID) at epoch \(epoch): \(first) (incoming seq. number), \(currentLast) (current end sequence number)"
    }
}

@Suite struct ProducerStateSnapshotTests {
    @Test func snapshotsRoundTripAndRefuseCorruption() throws {
        var state = ProducerStateManager()
        state.record(
            producerID: 1, epoch: 2,
            batch: .init(firstSequence: 5, lastSequence: 9, firstOffset: 100, lastOffset: 104, timestamp: 77))
        state.record(
            producerID: 8, epoch: 0,
            batch: .init(firstSequence: 0, lastSequence: 0, firstOffset: 105, lastOffset: 105, timestamp: 78))
        let bytes = ProducerStateSnapshot.encode(state)
        let decoded = try #require(ProducerStateSnapshot.decode(bytes))
        #expect(
            decoded.check(producerID: 1, epoch: 2, firstSequence: 5, lastSequence: 9)
                == .duplicate(
                    .init(firstSequence: 5, lastSequence: 9, firstOffset: 100, lastOffset: 104, timestamp: 77)))
        #expect(decoded.check(producerID: 1, epoch: 2, firstSequence: 10, lastSequence: 10) == .append)
        #expect(decoded.check(producerID: 8, epoch: 0, firstSequence: 1, lastSequence: 3) == .append)
        var corrupt = bytes
        let flipped = corrupt.getInteger(at: 12, as: UInt8.self)! ^ 0x40  // a byte of the first producer id
        corrupt.setInteger(flipped, at: 12)
        #expect(ProducerStateSnapshot.decode(corrupt) == nil)
        #expect(ProducerStateSnapshot.decode(bytes.getSlice(at: 0, length: bytes.readableBytes - 1)!) == nil)
    }

    @Test func rebuildStartsFromTheNewestSnapshotAndReplaysTheRest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-snap-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: KafkaUUID(high: 2, low: 2),
            configuration: LogConfiguration())
        func append(producer: Int64, sequence: Int32) throws {
            var options = RecordBatchBuilder.Options()
            options.producerID = producer
            options.producerEpoch = 0
            options.baseSequence = sequence
            var builder = RecordBatchBuilder(options: options)
            builder.append(timestamp: 1, key: nil, value: ByteBuffer(string: "x"))
            _ = try log.append(try builder.build().buffer, leaderEpoch: 0)
        }
        try append(producer: 1, sequence: 0)
        // A snapshot taken here says producer 9 (whose batches the log no longer shows) is at sequence 41.
        var saved = ProducerStateManager()
        saved.record(
            producerID: 9, epoch: 0,
            batch: .init(firstSequence: 41, lastSequence: 41, firstOffset: 0, lastOffset: 0, timestamp: 1))
        try ProducerStateSnapshot.write(saved, offset: 1, directory: directory)
        try append(producer: 1, sequence: 1)
        let rebuilt = try ProducerStateManager.rebuilt(from: log)
        // from the snapshot
        #expect(rebuilt.check(producerID: 9, epoch: 0, firstSequence: 42, lastSequence: 42) == .append)
        // replayed after it
        #expect(rebuilt.check(producerID: 1, epoch: 0, firstSequence: 2, lastSequence: 2) == .append)
        #expect(ProducerStateSnapshot.offsets(in: directory) == [1])
    }
}

@Suite struct ProducerTransactionStateTests {
    private func batch(_ first: Int32, _ last: Int32, offset: Int64) -> ProducerStateManager.BatchMetadata {
        .init(
            firstSequence: first, lastSequence: last, firstOffset: offset, lastOffset: offset + Int64(last - first),
            timestamp: 5)
    }

    /// Flow: 1. a transactional batch opens producer 1's transaction at its first offset, a second continues it;
    /// 2. producer 2 opens one later; 3. a non-transactional batch of producer 1 is INVALID_TXN_STATE; 4. stale
    /// producer and coordinator epochs are refused; 5. producer 1's ABORT ends it, with producer 2's start as the
    /// stable offset; 6. a marker without a transaction ends nothing; 7. a newer marker epoch resets sequences.
    @Test func transactionsOpenContinueAndComplete() {
        var state = ProducerStateManager()
        #expect(
            state.check(producerID: 1, epoch: 3, firstSequence: 0, lastSequence: 1, isTransactional: true) == .append)
        state.record(producerID: 1, epoch: 3, batch: batch(0, 1, offset: 10), isTransactional: true)
        state.record(producerID: 1, epoch: 3, batch: batch(2, 2, offset: 14), isTransactional: true)
        #expect(state.producers[1]?.currentTxnFirstOffset == 10)
        state.record(producerID: 2, epoch: 0, batch: batch(0, 0, offset: 12), isTransactional: true)
        #expect(state.ongoingTransactions == [1: 10, 2: 12])
        #expect(state.firstUnstableOffset == 10)
        if case .reject(let error, _) = state.check(producerID: 1, epoch: 3, firstSequence: 3, lastSequence: 3) {
            #expect(error == .invalidTxnState)
        } else {
            Issue.record("a non-transactional batch inside a transaction must be refused")
        }
        #expect(
            state.check(producerID: 1, epoch: 3, firstSequence: 3, lastSequence: 3, isTransactional: true) == .append)
        if case .reject(let error, _) = state.checkMarker(producerID: 1, epoch: 2, coordinatorEpoch: 0) {
            #expect(error == .invalidProducerEpoch)
        } else {
            Issue.record("a stale marker epoch must be refused")
        }
        #expect(state.checkMarker(producerID: 1, epoch: 3, coordinatorEpoch: 4) == .append)
        let aborted = state.completeTransaction(
            producerID: 1, epoch: 3, coordinatorEpoch: 4, offset: 15, timestamp: 9, isAborted: true)
        #expect(aborted == .init(producerID: 1, firstOffset: 10, lastOffset: 15, isAborted: true, lastStableOffset: 12))
        #expect(state.ongoingTransactions == [2: 12])
        #expect(state.producers[1]?.coordinatorEpoch == 4)
        if case .reject(let error, _) = state.checkMarker(producerID: 1, epoch: 3, coordinatorEpoch: 3) {
            #expect(error == .transactionCoordinatorFenced)
        } else {
            Issue.record("a marker from an older coordinator epoch must be refused")
        }
        // Nothing open for producer 1 any more: the marker is harmless.
        #expect(
            state.completeTransaction(
                producerID: 1, epoch: 3, coordinatorEpoch: 4, offset: 16, timestamp: 9, isAborted: false) == nil)
        // same epoch continues
        #expect(state.check(producerID: 1, epoch: 3, firstSequence: 3, lastSequence: 3) == .append)
        // The coordinator fences with a bumped epoch: the next batch must start at sequence 0.
        #expect(state.checkMarker(producerID: 1, epoch: 4, coordinatorEpoch: 4) == .append)
        state.completeTransaction(
            producerID: 1, epoch: 4, coordinatorEpoch: 4, offset: 17, timestamp: 9, isAborted: true)
        #expect(state.producers[1]?.epoch == 4)
        #expect(state.check(producerID: 1, epoch: 4, firstSequence: 3, lastSequence: 3) != .append)
        #expect(state.check(producerID: 1, epoch: 4, firstSequence: 0, lastSequence: 0) == .append)
        // Producer 2's commit: the LSO after it is the marker's next offset.
        let committed = state.completeTransaction(
            producerID: 2, epoch: 0, coordinatorEpoch: 4, offset: 18, timestamp: 9, isAborted: false)
        #expect(committed?.lastStableOffset == 19)
        #expect(state.firstUnstableOffset == nil)
    }

    /// Flow: 1. a coordinator batch without sequences opens a transaction; 2. it is not cached for deduplication
    /// but its epoch is checked.
    @Test func coordinatorBatchesSkipSequencesButNotEpochs() {
        var state = ProducerStateManager()
        #expect(
            state.check(
                producerID: 5, epoch: 2, firstSequence: -1, lastSequence: -1, isTransactional: true,
                checksSequence: false) == .append)
        state.record(
            producerID: 5, epoch: 2, batch: batch(-1, -1, offset: 3), isTransactional: true, tracksSequence: false)
        #expect(state.producers[5]?.batches.isEmpty == true)
        #expect(state.ongoingTransactions == [5: 3])
        if case .reject(let error, _) = state.check(
            producerID: 5, epoch: 1, firstSequence: -1, lastSequence: -1, isTransactional: true, checksSequence: false)
        {
            #expect(error == .invalidProducerEpoch)
        } else {
            Issue.record("an older epoch must be fenced for coordinator batches too")
        }
    }

    /// Flow: 1. producers with an open transaction, a completed one (no batch in its marker's epoch) and a plain
    /// idempotent one; 2. encode and decode; 3. transactions, epochs, coordinator epochs and dedup survive.
    @Test func snapshotKeepsTransactions() throws {
        var state = ProducerStateManager()
        state.record(producerID: 1, epoch: 0, batch: batch(0, 4, offset: 100), isTransactional: true)
        state.record(producerID: 2, epoch: 0, batch: batch(0, 0, offset: 105), isTransactional: true)
        state.completeTransaction(
            producerID: 2, epoch: 1, coordinatorEpoch: 7, offset: 106, timestamp: 77, isAborted: true)
        state.record(producerID: 3, epoch: 0, batch: batch(0, 1, offset: 107))
        let decoded = try #require(ProducerStateSnapshot.decode(ProducerStateSnapshot.encode(state)))
        #expect(decoded.producers == state.producers)
        #expect(decoded.ongoingTransactions == [1: 100])
        #expect(decoded.activeProducers() == state.activeProducers())
        #expect(decoded.activeProducers().map(\.currentTxnStartOffset) == [100, -1, -1])
        #expect(decoded.activeProducers().map(\.lastSequence) == [4, -1, 1])
        #expect(
            decoded.check(producerID: 1, epoch: 0, firstSequence: 0, lastSequence: 4, isTransactional: true)
                == .duplicate(batch(0, 4, offset: 100)))
        #expect(decoded.check(producerID: 2, epoch: 1, firstSequence: 0, lastSequence: 0) == .append)
        #expect(decoded.checkMarker(producerID: 2, epoch: 1, coordinatorEpoch: 6) != .append)
    }
}
