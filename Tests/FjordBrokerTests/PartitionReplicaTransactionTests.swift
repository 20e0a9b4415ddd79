import FjordController
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordBroker

/// The partition side of transactions, on a real log in a temporary folder: transactional appends, markers, the
/// last stable offset, the aborted-transaction index, and what a restart restores.
@Suite struct PartitionReplicaTransactionTests {
    private static let topicID = KafkaUUID(high: 7, low: 7)

    private func openReplica(_ directory: String, clean: Bool = true) throws -> PartitionReplica {
        var configuration = LogConfiguration()
        // a few batches per segment: markers and their transactions straddle segments
        configuration.segmentBytesMax = 300
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: Self.topicID,
            configuration: configuration, cleanShutdown: clean
        )
        let config = EffectiveTopicConfig(
            topic: nil, image: MetadataImage(clusterID: "c", controllerID: 1, brokers: []), brokerProperties: [:]
        )
        let replica = PartitionReplica(
            topicPartition: TopicPartition("t", 0), topicID: Self.topicID, log: log, localID: 1, config: config)
        replica.update(leaderEpoch: 0, isLeader: true, config: config)
        return replica
    }

    private func batch(producer: Int64, epoch: Int16 = 0, sequence: Int32, count: Int = 1, transactional: Bool = true)
        -> ByteBuffer
    {
        var options = RecordBatchBuilder.Options()
        options.producerID = producer
        options.producerEpoch = epoch
        options.baseSequence = sequence
        options.isTransactional = transactional
        var builder = RecordBatchBuilder(options: options)
        for index in 0..<count {
            builder.append(
                timestamp: 1_700_000_000_000, key: nil,
                value: ByteBuffer(string: "p\(producer)-\(sequence + Int32(index))"))
        }
        return try! builder.build().buffer
    }

    @discardableResult
    private func append(
        _ replica: PartitionReplica, _ records: ByteBuffer, origin: AppendOrigin = .client,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int64 {
        let outcome = replica.appendAsLeader(records, now: 1_700_000_000_000, origin: origin)
        #expect(outcome.error == .none, "\(outcome.errorMessage ?? "")", sourceLocation: sourceLocation)
        return outcome.baseOffset
    }

    @discardableResult
    private func marker(
        _ replica: PartitionReplica, producer: Int64, epoch: Int16 = 0, coordinatorEpoch: Int32 = 5, commit: Bool,
        expect error: ErrorCode = .none, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int64 {
        let outcome = replica.appendTransactionMarker(
            producerID: producer, producerEpoch: epoch, coordinatorEpoch: coordinatorEpoch, commit: commit,
            now: 1_700_000_000_001)
        #expect(outcome.error == error, "\(outcome.errorMessage ?? "")", sourceLocation: sourceLocation)
        return outcome.baseOffset
    }

    private func pairs(_ aborted: [AbortedTransaction]) -> [[Int64]] {
        aborted.map { [$0.producerID, $0.firstOffset] }
    }

    /// What a restart must restore.
    private struct Observed: Equatable {
        var lastStableOffset: Int64
        var highWatermark: Int64
        var ongoing: [Int64: Int64]
        var aborted: [AbortedTransaction]
        var producers: [ProducerStateManager.ActiveProducer]
    }

    private func observe(_ replica: PartitionReplica) throws -> Observed {
        Observed(
            lastStableOffset: replica.lastStableOffset, highWatermark: replica.highWatermark,
            ongoing: replica.ongoingTransactions,
            aborted: try replica.abortedTransactions(from: 0, upperBound: replica.highWatermark),
            producers: replica.activeProducers()
        )
    }

    /// Flow: 1. producers 1 and 2 write transactional batches around a plain idempotent one: the LSO stays at
    /// producer 1's first offset; 2. producer 1 commits: the LSO moves to producer 2's first offset; 3. producer 2
    /// aborts: the LSO reaches the high watermark and the abort is indexed; 4. producer 1 opens and aborts another;
    /// 5. stale epochs, fenced coordinators and non-transactional writes inside a transaction are refused and
    /// write nothing; 6. a coordinator batch without sequences opens a transaction, a marker with no transaction
    /// is written and harmless; 7. producer 2 leaves one open; 8. lookups return the overlapping aborts;
    /// 9. reopening from disk (after a snapshot mid-way, then without any, then with the last index entry lost)
    /// restores the same LSO, transactions, producers and aborts.
    @Test func transactionsMoveTheLastStableOffsetAndSurviveARestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-txn-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let replica = try openReplica(directory)

        let p1First = append(replica, batch(producer: 1, sequence: 0, count: 2))  // 0-1
        #expect(p1First == 0)
        append(replica, batch(producer: 3, sequence: 0, transactional: false))  // 2
        let p2First = append(replica, batch(producer: 2, sequence: 0, count: 2))  // 3-4
        #expect(replica.lastStableOffset == 0)
        #expect(replica.highWatermark == 5)
        // A snapshot as a roll would write it, with both transactions open.
        try ProducerStateSnapshot.write(replica.producerStateSnapshot().state, offset: 5, directory: directory)
        append(replica, batch(producer: 1, sequence: 2))  // 5
        #expect(replica.lastStableOffset == 0)

        let commit = marker(replica, producer: 1, commit: true)  // 6
        #expect(commit == 6)
        #expect(replica.lastStableOffset == p2First)
        let abort = marker(replica, producer: 2, commit: false)  // 7
        #expect(replica.lastStableOffset == replica.highWatermark)
        #expect(
            try replica.abortedTransactions(from: 0, upperBound: 8) == [
                AbortedTransaction(producerID: 2, firstOffset: p2First, lastOffset: abort, lastStableOffset: 8)
            ])

        let p1Second = append(replica, batch(producer: 1, sequence: 3))  // 8
        #expect(replica.lastStableOffset == p1Second)
        marker(replica, producer: 1, epoch: -1, commit: false, expect: .invalidProducerEpoch)
        marker(replica, producer: 1, coordinatorEpoch: 4, commit: false, expect: .transactionCoordinatorFenced)
        #expect(
            replica.appendAsLeader(batch(producer: 1, sequence: 4, transactional: false), now: 1_700_000_000_000).error
                == .invalidTxnState)
        #expect(replica.highWatermark == 9)  // nothing refused was written
        marker(replica, producer: 1, commit: false)  // 9
        #expect(replica.lastStableOffset == 10)

        // The group coordinator's transactional offset commit: no sequence numbers.
        #expect(replica.appendAsLeader(batch(producer: 50, sequence: -1), now: 1_700_000_000_000).error != .none)
        let coordinatorFirst = append(replica, batch(producer: 50, sequence: -1), origin: .coordinator)  // 10
        #expect(replica.lastStableOffset == coordinatorFirst)
        marker(replica, producer: 50, commit: true)  // 11
        marker(replica, producer: 99, commit: false)  // 12: no transaction, harmless
        #expect(replica.lastStableOffset == 13)

        let p2Open = append(replica, batch(producer: 2, sequence: 2, count: 3))  // 13-15
        append(replica, batch(producer: 3, sequence: 1, transactional: false))  // 16
        #expect(replica.lastStableOffset == p2Open)
        #expect(replica.ongoingTransactions == [2: p2Open])
        #expect(replica.log.segmentCount > 2)

        #expect(pairs(try replica.abortedTransactions(from: 0, upperBound: 17)) == [[2, 3], [1, 8]])
        #expect(pairs(try replica.abortedTransactions(from: 4, upperBound: 5)) == [[2, 3]])
        #expect(pairs(try replica.abortedTransactions(from: 8, upperBound: 9)) == [[1, 8]])
        #expect(pairs(try replica.abortedTransactions(from: 10, upperBound: 17)) == [])
        let before = try observe(replica)
        #expect(before.producers.first { $0.producerID == 2 }?.currentTxnStartOffset == p2Open)
        #expect(before.producers.first { $0.producerID == 1 }?.lastSequence == 3)

        // Restart from the snapshot at 5 and the batches after it (no clean shutdown).
        #expect(try observe(openReplica(directory, clean: false)) == before)
        // Restart without any snapshot: everything from the log start.
        for offset in ProducerStateSnapshot.offsets(in: directory) {
            try FileManager.default.removeItem(atPath: directory + "/" + ProducerStateSnapshot.fileName(offset))
        }
        #expect(try observe(openReplica(directory, clean: false)) == before)
        // The crash came between the last ABORT marker and its index entry: the rebuild puts the entry back.
        let indexes = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasSuffix(".txnindex")
        }.sorted()
        let last = directory + "/" + indexes.last!
        let bytes = try Data(contentsOf: URL(fileURLWithPath: last))
        try bytes.dropLast(34).write(to: URL(fileURLWithPath: last))
        let reopened = try openReplica(directory, clean: false)
        #expect(try observe(reopened) == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: last)) == bytes)
        // And the reopened replica carries on: producer 2 commits, producer 1 continues its sequence.
        marker(reopened, producer: 2, commit: true)
        #expect(reopened.lastStableOffset == reopened.highWatermark)
        append(reopened, batch(producer: 1, sequence: 4))
    }
}
