import FjordStorage
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordBroker

/// The transaction APIs through their handlers on a real broker: InitProducerId (producer ids, epochs, fencing),
/// AddPartitionsToTxn, EndTxn — and what a read_committed consumer then sees in the partitions: COMMIT and ABORT
/// markers, the last stable offset, the aborted-transaction list.
@Suite struct TransactionHandlerTests {
    private typealias H = BrokerHarness

    private func initProducerID(
        _ broker: BrokerHarness, _ transactionalID: String?, timeoutMs: Int32 = 60_000, version: Int16 = 4
    ) async throws -> InitProducerIDResponse {
        try await broker.call(
            InitProducerIDHandler(services: broker.services),
            InitProducerIDRequest(transactionalID: transactionalID, transactionTimeoutMs: timeoutMs), version: version
        )
    }

    private func addPartitions(
        _ broker: BrokerHarness, _ producer: H.TransactionalProducer, epoch: Int16? = nil, producerID: Int64? = nil,
        _ topics: [String: [Int32]], version: Int16 = 3
    ) async throws -> [String: Int16] {
        let response = try await broker.call(
            AddPartitionsToTxnHandler(services: broker.services),
            AddPartitionsToTxnRequest(
                v3AndBelowTransactionalID: producer.transactionalID,
                v3AndBelowProducerID: producerID ?? producer.producerID,
                v3AndBelowProducerEpoch: epoch ?? producer.epoch,
                v3AndBelowTopics: topics.sorted { $0.key < $1.key }.map { .init(name: $0.key, partitions: $0.value) }
            ), version: version)
        var errors = [String: Int16]()
        for topic in response.resultsByTopicV3AndBelow {
            for partition in topic.resultsByPartition {
                errors["\(topic.name)-\(partition.partitionIndex)"] = partition.partitionErrorCode
            }
        }
        return errors
    }

    private func endTxn(
        _ broker: BrokerHarness, _ producer: H.TransactionalProducer, epoch: Int16? = nil, commit: Bool,
        version: Int16 = 3
    ) async throws -> Int16 {
        try await broker.call(
            EndTxnHandler(services: broker.services),
            EndTxnRequest(
                transactionalID: producer.transactionalID, producerID: producer.producerID,
                producerEpoch: epoch ?? producer.epoch, committed: commit
            ), version: version
        ).errorCode
    }

    /// The whole partition as read_committed and read_uncommitted consumers read it from offset 0.
    private func read(_ broker: BrokerHarness, _ topic: String, partition: Int32 = 0, readCommitted: Bool) async throws
        -> FetchResponse.PartitionData
    {
        let response = try await broker.fetch(
            H.fetchRequest([.init(topic: topic, partition: partition)], isolationLevel: readCommitted ? 1 : 0))
        return try #require(response.data(topic, partition: partition))
    }

    /// What a read_committed consumer delivers: data records minus those of the aborted transactions listed.
    private func delivered(_ data: FetchResponse.PartitionData) throws -> [String] {
        try H.committedRecords(data).map(\.description)
    }

    /// The markers (control batches) of a fetched partition: (offset, commit?).
    private func markers(_ data: FetchResponse.PartitionData) throws -> [String] {
        try H.batches(in: data.records).filter(\.isControl).map { batch in
            let marker = try #require(TransactionMarker(controlBatch: batch))
            return "\(batch.baseOffset):\(marker.isCommit ? "COMMIT" : "ABORT")"
        }
    }

    /// Flow: without a transactional id every InitProducerId gets a fresh producer id at epoch 0; with one, the id
    /// stays and each call bumps the epoch, fencing the older epoch: its AddPartitionsToTxn and EndTxn are
    /// PRODUCER_FENCED (v2+ of those APIs; INVALID_PRODUCER_EPOCH before). A timeout above
    /// transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT.
    @Test func initProducerIDAllocatesAndFences() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("t")
            let first = try await initProducerID(broker, nil)
            let second = try await initProducerID(broker, nil)
            #expect([first.errorCode, second.errorCode] == [0, 0])
            #expect([first.producerEpoch, second.producerEpoch] == [0, 0])
            #expect(first.producerID >= 0)
            #expect(first.producerID != second.producerID)

            let old = try await broker.initTransactions("tx-fence")
            #expect(old.epoch == 0)
            let current = try await broker.initTransactions("tx-fence")
            #expect(current.producerID == old.producerID)
            #expect(current.epoch == 1)
            #expect(try await addPartitions(broker, old, ["t": [0]]) == ["t-0": ErrorCode.producerFenced.rawValue])
            #expect(
                try await addPartitions(broker, old, ["t": [0]], version: 1) == [
                    "t-0": ErrorCode.invalidProducerEpoch.rawValue
                ])
            #expect(try await endTxn(broker, old, commit: true) == ErrorCode.producerFenced.rawValue)
            #expect(try await endTxn(broker, old, commit: true, version: 1) == ErrorCode.invalidProducerEpoch.rawValue)
            #expect(try await addPartitions(broker, current, ["t": [0]]) == ["t-0": 0])

            let tooLong = try await initProducerID(broker, "tx-long", timeoutMs: 3_600_000)
            #expect(tooLong.errorCode == ErrorCode.invalidTransactionTimeout.rawValue)
        }
    }

    /// Flow: AddPartitionsToTxn with a partition that does not exist answers it UNKNOWN_TOPIC_OR_PARTITION and the
    /// rest OPERATION_NOT_ATTEMPTED (nothing is added); a producer id the transactional id does not have is
    /// INVALID_PRODUCER_ID_MAPPING; EndTxn with no transaction open is INVALID_TXN_STATE.
    @Test func addPartitionsAndEndTxnErrors() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("t", partitions: 2)
            let producer = try await broker.initTransactions("tx-errors")
            #expect(
                try await addPartitions(broker, producer, ["t": [0, 5], "missing": [0]]) == [
                    "t-0": ErrorCode.operationNotAttempted.rawValue, "t-5": ErrorCode.unknownTopicOrPartition.rawValue,
                    "missing-0": ErrorCode.unknownTopicOrPartition.rawValue,
                ])
            #expect(try await endTxn(broker, producer, commit: true) == ErrorCode.invalidTxnState.rawValue)
            #expect(
                try await addPartitions(broker, producer, producerID: producer.producerID + 77, ["t": [0]]) == [
                    "t-0": ErrorCode.invalidProducerIDMapping.rawValue
                ])
        }
    }

    /// Flow: one transaction over two partitions, committed: both get a COMMIT marker after the data; read_committed
    /// delivers the records once the marker is written and the last stable offset reaches the high watermark; a retry
    /// of the same EndTxn succeeds, the opposite one is INVALID_TXN_STATE. A second transaction, aborted: ABORT
    /// markers; read_uncommitted still shows its records, read_committed lists it as aborted and delivers none of them.
    @Test func endTxnCommitAndAbortDecideWhatReadCommittedDelivers() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("t", partitions: 2)
            var producer = try await broker.initTransactions("tx-end")
            #expect(try await addPartitions(broker, producer, ["t": [0, 1]]) == ["t-0": 0, "t-1": 0])
            #expect(try await broker.produce(&producer, "t", partition: 0, ["c0"]).errorCode == 0)
            #expect(try await broker.produce(&producer, "t", partition: 1, ["c1", "c1b"]).errorCode == 0)

            let before = try await read(broker, "t", readCommitted: true)
            #expect(before.lastStableOffset == 0)
            #expect(before.highWatermark == 1)
            #expect(try delivered(before) == [])

            #expect(try await endTxn(broker, producer, commit: true) == 0)
            let committed0 = try await read(broker, "t", partition: 0, readCommitted: true)
            let committed1 = try await read(broker, "t", partition: 1, readCommitted: true)
            #expect(try delivered(committed0) == ["0:c0"])
            #expect(try delivered(committed1) == ["0:c1", "1:c1b"])
            #expect(try markers(committed0) == ["1:COMMIT"])
            #expect(try markers(committed1) == ["2:COMMIT"])
            #expect([committed0.lastStableOffset, committed0.highWatermark] == [2, 2])
            #expect(committed1.abortedTransactions == [])
            #expect(try await endTxn(broker, producer, commit: true) == 0)  // a retry of the same end
            #expect(try await endTxn(broker, producer, commit: false) == ErrorCode.invalidTxnState.rawValue)

            #expect(try await addPartitions(broker, producer, ["t": [0]]) == ["t-0": 0])
            #expect(try await broker.produce(&producer, "t", partition: 0, ["doomed"]).baseOffset == 2)
            #expect(try await endTxn(broker, producer, commit: false) == 0)
            let uncommitted = try await read(broker, "t", readCommitted: false)
            #expect(try H.records(in: uncommitted.records).map(\.description) == ["0:c0", "2:doomed"])
            let abortedView = try await read(broker, "t", readCommitted: true)
            #expect(try markers(abortedView) == ["1:COMMIT", "3:ABORT"])
            #expect(abortedView.abortedTransactions == [.init(producerID: producer.producerID, firstOffset: 2)])
            #expect(try delivered(abortedView) == ["0:c0"])
            #expect([abortedView.lastStableOffset, abortedView.highWatermark] == [4, 4])
        }
    }

    /// Flow: InitProducerId for a transactional id whose transaction is open aborts that transaction (its partitions
    /// get ABORT markers) and answers CONCURRENT_TRANSACTIONS; the producer's retry gets the next epoch, and the
    /// partition's last stable offset is free again.
    @Test func reinitializingAbortsTheOpenTransaction() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("t")
            var producer = try await broker.initTransactions("tx-reinit")
            #expect(try await addPartitions(broker, producer, ["t": [0]]) == ["t-0": 0])
            #expect(try await broker.produce(&producer, "t", ["abandoned"]).baseOffset == 0)
            #expect(try broker.replica("t").lastStableOffset == 0)

            let busy = try await initProducerID(broker, "tx-reinit")
            #expect(busy.errorCode == ErrorCode.concurrentTransactions.rawValue)
            var retried = try await initProducerID(broker, "tx-reinit")
            for _ in 0..<50 where retried.errorCode == ErrorCode.concurrentTransactions.rawValue {
                try await Task.sleep(for: .milliseconds(20))  // the client's retry backoff
                retried = try await initProducerID(broker, "tx-reinit")
            }
            #expect(retried.errorCode == 0)
            #expect(retried.producerID == producer.producerID)
            #expect(retried.producerEpoch > producer.epoch)

            let view = try await read(broker, "t", readCommitted: true)
            #expect(try markers(view) == ["1:ABORT"])
            #expect(view.abortedTransactions == [.init(producerID: producer.producerID, firstOffset: 0)])
            #expect(try delivered(view) == [])
            #expect([view.lastStableOffset, view.highWatermark] == [2, 2])
        }
    }
}
