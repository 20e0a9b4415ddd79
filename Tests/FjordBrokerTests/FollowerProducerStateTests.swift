import FjordController
import FjordReplication
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordBroker

/// A follower keeps the producer state as the leader does, from the batches it copies: its transaction index holds
/// the leader's aborts, its last stable offset waits for the open transactions, and deduplication is ready for the
/// day it leads — and a truncation takes back what it cut.
@Suite struct FollowerProducerStateTests {
    private static let topicID = KafkaUUID(high: 9, low: 9)

    private func open(_ directory: String, localID: NodeID, leader: NodeID) throws -> PartitionReplica {
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("t", 0), topicID: Self.topicID,
            configuration: LogConfiguration())
        let config = EffectiveTopicConfig(
            topic: nil, image: MetadataImage(clusterID: "c", controllerID: 1, brokers: []), brokerProperties: [:])
        let replica = PartitionReplica(
            topicPartition: TopicPartition("t", 0), topicID: Self.topicID, log: log, localID: localID, config: config)
        replica.applyRegistration(
            PartitionRegistration(leader: leader, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1]),
            localID: localID, config: config, lagTimeMaxMs: 30_000, now: PartitionReplica.replicationNow())
        return replica
    }

    private func transactional(producer: Int64, sequence: Int32, count: Int) -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.producerID = producer
        options.producerEpoch = 0
        options.baseSequence = sequence
        options.isTransactional = true
        var builder = RecordBatchBuilder(options: options)
        for index in 0..<count {
            builder.append(timestamp: 1_700_000_000_000, key: nil, value: ByteBuffer(string: "p\(producer)-\(index)"))
        }
        return try! builder.build().buffer
    }

    /// Everything the leader's log holds, as one fetch answer would carry it.
    private func answer(from leader: PartitionReplica) throws -> FetchResponse.PartitionData {
        let end = leader.log.logEndOffset
        let read = try leader.log.read(from: 0, maximumBytes: 1 << 20, upperBound: end)
        return FetchResponse.PartitionData(
            highWatermark: end, lastStableOffset: leader.lastStableOffset, logStartOffset: 0,
            records: try leader.log.bytes(of: #require(read.slice)))
    }

    @Test func aFollowerIndexesTheLeadersAbortsAndHoldsItsStableOffsetAtOpenTransactions() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("follower-producers-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let leader = try open(root + "/leader", localID: 1, leader: 1)
        let follower = try open(root + "/follower", localID: 2, leader: 1)

        // Producer 5 writes and aborts; producer 6 writes and leaves its transaction open.
        #expect(
            leader.appendAsLeader(
                transactional(producer: 5, sequence: 0, count: 3), now: 1_700_000_000_000, origin: .client
            ).error
                == .none)
        let abort = leader.appendTransactionMarker(
            producerID: 5, producerEpoch: 0, coordinatorEpoch: 1, commit: false, now: 1_700_000_000_001)
        #expect(abort.error == .none)
        let open = leader.appendAsLeader(
            transactional(producer: 6, sequence: 0, count: 2), now: 1_700_000_000_002, origin: .client)
        #expect(open.error == .none)

        let fetch = try #require(follower.nextFollowerFetch(from: 1, brokerEpoch: -1))
        _ = follower.applyLeaderAnswer(try answer(from: leader), to: fetch)
        let end = leader.log.logEndOffset
        #expect(follower.log.logEndOffset == end)
        #expect(follower.highWatermark == end)
        let aborted = try follower.abortedTransactions(from: 0, upperBound: end)
        #expect(aborted.map { [$0.producerID, $0.firstOffset, $0.lastOffset] } == [[5, 0, abort.baseOffset]])
        #expect(follower.ongoingTransactions == [6: open.baseOffset])
        #expect(follower.lastStableOffset == open.baseOffset, "the open transaction holds the stable offset back")

        // A truncation below producer 6's batch: its transaction is gone from the state too.
        _ = follower.applyLeaderOffsets(logStartOffset: 0, logEndOffset: open.baseOffset, leaderEpoch: 1)
        #expect(follower.log.logEndOffset == open.baseOffset)
        #expect(follower.ongoingTransactions.isEmpty)
        #expect(try follower.abortedTransactions(from: 0, upperBound: open.baseOffset).count == 1)
    }
}
