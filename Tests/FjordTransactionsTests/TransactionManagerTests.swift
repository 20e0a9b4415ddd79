import FjordGroups
import FjordTransactions
import KafkaProtocol
import NIOCore
import Testing

/// Drives a `TransactionManager` the way the broker does: every plan's record is "appended" (kept in `log`) and
/// replayed, markers are "written" (kept in `markers`) and followed by the completion record.
struct TransactionDriver {
    var manager = TransactionManager()
    var log: [TransactionRecord] = []
    var markers: [TransactionMarkers] = []
    var nextProducerID: Int64 = 1000
    var now: Int64 = 1_000_000

    mutating func run(_ plan: TransactionPlan) throws -> TransactionPlan {
        if let record = plan.record {
            log.append(record)
            try manager.replay(record)
        }
        if let written = plan.markers {
            markers.append(written)
            let completion = try #require(manager.completeTransaction(written.transactionalID, now: now))
            log.append(completion)
            try manager.replay(completion)
        }
        return plan
    }

    mutating func initProducer(_ id: String, timeoutMs: Int32 = 60_000, producerID: Int64 = -1, epoch: Int16 = -1)
        throws -> TransactionPlan
    {
        var allocated = nextProducerID
        let plan = manager.initProducerID(
            transactionalID: id, timeoutMs: timeoutMs, producerID: producerID, producerEpoch: epoch, now: now
        ) {
            defer { allocated += 1 }
            return allocated
        }
        nextProducerID = allocated
        return try run(plan)
    }

    mutating func add(_ id: String, _ producer: (Int64, Int16), _ partitions: [TopicPartition]) throws
        -> TransactionPlan
    {
        try run(
            manager.addPartitions(
                transactionalID: id, producerID: producer.0, producerEpoch: producer.1, partitions: partitions, now: now
            ))
    }

    mutating func end(_ id: String, _ producer: (Int64, Int16), commit: Bool) throws -> TransactionPlan {
        try run(
            manager.endTransaction(
                transactionalID: id, producerID: producer.0, producerEpoch: producer.1, commit: commit, now: now))
    }

    /// A manager rebuilt from nothing but the records: must equal the live one.
    func replayed() throws -> TransactionManager {
        var fresh = TransactionManager()
        for record in log { try fresh.replay(record) }
        return fresh
    }
}

@Suite struct TransactionManagerTests {
    let orders = TopicPartition("orders", 0)
    let payments = TopicPartition("payments", 3)

    @Test func firstInitGetsAFreshProducerIDAndEachNextInitBumpsTheEpoch() throws {
        var driver = TransactionDriver()
        let first = try driver.initProducer("tx")
        #expect((first.error, first.producerID, first.producerEpoch) == (.none, 1000, 0))
        let second = try driver.initProducer("tx")
        #expect((second.error, second.producerID, second.producerEpoch) == (.none, 1000, 1))
        #expect(driver.manager.transactions["tx"]?.state == .empty)
        #expect(try driver.replayed().transactions == driver.manager.transactions)
    }

    @Test func commitWritesPrepareThenMarkersThenComplete() throws {
        var driver = TransactionDriver()
        let producer = try driver.initProducer("tx")
        let id = (producer.producerID, producer.producerEpoch)
        #expect(try driver.add("tx", id, [orders]).error == .none)
        #expect(driver.manager.transactions["tx"]?.startTimestamp == driver.now)
        // Adding a partition that is already in the transaction writes nothing.
        let records = driver.log.count
        #expect(try driver.add("tx", id, [orders]).record == nil)
        #expect(driver.log.count == records)
        #expect(try driver.add("tx", id, [payments]).error == .none)
        #expect(driver.manager.transactions["tx"]?.partitions == [orders, payments])

        let end = try driver.end("tx", id, commit: true)
        #expect(end.error == .none)
        #expect(
            driver.markers == [
                TransactionMarkers(
                    transactionalID: "tx", producerID: 1000, producerEpoch: 0, commit: true,
                    partitions: [orders, payments])
            ])
        let states = try driver.log.map { try TransactionRecord.decode(key: $0.key, value: $0.value).1?.state }
        #expect(states.suffix(2) == [.prepareCommit, .completeCommit])
        #expect(driver.manager.transactions["tx"]?.partitions == [])
        // A retried commit succeeds without writing anything; an abort now is refused.
        #expect(try driver.end("tx", id, commit: true).record == nil)
        #expect(try driver.end("tx", id, commit: true).error == .none)
        #expect(try driver.end("tx", id, commit: false).error == .invalidTxnState)
        #expect(try driver.replayed().transactions == driver.manager.transactions)
    }

    @Test func endWithoutATransactionIsInvalidState() throws {
        var driver = TransactionDriver()
        let producer = try driver.initProducer("tx")
        #expect(
            try driver.end("tx", (producer.producerID, producer.producerEpoch), commit: true).error == .invalidTxnState)
        #expect(
            try driver.end("tx", (producer.producerID, producer.producerEpoch), commit: false).error == .invalidTxnState
        )
    }

    @Test func aNewProducerWithTheSameIDAbortsTheOpenTransactionAndFencesTheOldOne() throws {
        var driver = TransactionDriver()
        let old = try driver.initProducer("tx")
        let oldID = (old.producerID, old.producerEpoch)
        _ = try driver.add("tx", oldID, [orders])
        // The new producer: the open transaction is aborted with epoch 1 (fencing the old producer in `orders`),
        // and it is told to retry.
        let attempt = try driver.initProducer("tx")
        #expect(attempt.error == .concurrentTransactions)
        #expect(
            driver.markers.last
                == TransactionMarkers(
                    transactionalID: "tx", producerID: 1000, producerEpoch: 1, commit: false, partitions: [orders]))
        #expect(driver.manager.transactions["tx"]?.state == .completeAbort)
        let retry = try driver.initProducer("tx")
        #expect((retry.error, retry.producerID, retry.producerEpoch) == (.none, 1000, 2))
        // The old producer is fenced everywhere.
        #expect(try driver.add("tx", oldID, [payments]).error == .producerFenced)
        #expect(try driver.end("tx", oldID, commit: true).error == .producerFenced)
        #expect(try driver.replayed().transactions == driver.manager.transactions)
    }

    @Test func requestsFromUnknownProducersAndBadTimeoutsAreRefused() throws {
        var driver = TransactionDriver()
        #expect(try driver.initProducer("tx", timeoutMs: 0).error == .invalidTransactionTimeout)
        #expect(try driver.initProducer("tx", timeoutMs: 900_001).error == .invalidTransactionTimeout)
        #expect(try driver.initProducer("", timeoutMs: 1000).error == .invalidRequest)
        #expect(try driver.add("nobody", (1, 0), [orders]).error == .invalidProducerIDMapping)
        let producer = try driver.initProducer("tx")
        #expect(try driver.add("tx", (producer.producerID + 1, 0), [orders]).error == .invalidProducerIDMapping)
        #expect(try driver.add("tx", (producer.producerID, 5), [orders]).error == .producerFenced)
        // KIP-360: a producer recovering its id must name the current id and epoch.
        #expect(try driver.initProducer("tx", producerID: producer.producerID, epoch: 7).error == .producerFenced)
        let recovered = try driver.initProducer("tx", producerID: producer.producerID, epoch: producer.producerEpoch)
        #expect((recovered.error, recovered.producerEpoch) == (.none, 1))
    }

    @Test func timedOutTransactionsAreAbortedWithABumpedEpoch() throws {
        var driver = TransactionDriver()
        let producer = try driver.initProducer("tx", timeoutMs: 10_000)
        _ = try driver.add("tx", (producer.producerID, producer.producerEpoch), [orders])
        driver.now += 9_999
        #expect(driver.manager.tick(now: driver.now).isEmpty)
        #expect(driver.manager.nextDeadline == driver.now + 1)
        driver.now += 1
        let plans = driver.manager.tick(now: driver.now)
        #expect(plans.count == 1)
        for plan in plans { _ = try driver.run(plan) }
        #expect(driver.markers.last?.commit == false)
        #expect(driver.markers.last?.producerEpoch == 1)
        #expect(driver.manager.transactions["tx"]?.state == .completeAbort)
        #expect(
            try driver.end("tx", (producer.producerID, producer.producerEpoch), commit: true).error == .producerFenced)
    }

    @Test func idleIDsExpire() throws {
        var driver = TransactionDriver()
        _ = try driver.initProducer("tx")
        driver.now += driver.manager.configuration.idExpirationMs
        for plan in driver.manager.tick(now: driver.now) { _ = try driver.run(plan) }
        #expect(driver.manager.transactions["tx"] == nil)
        #expect(driver.log.last?.value == nil)
        // The id starts over with a new producer id.
        #expect(try driver.initProducer("tx").producerID == 1001)
    }

    @Test func anExhaustedEpochGetsANewProducerID() throws {
        var driver = TransactionDriver()
        _ = try driver.initProducer("tx")
        var metadata = try #require(driver.manager.transactions["tx"])
        metadata.producerEpoch = Int16.max - 1
        try driver.manager.replay(TransactionRecord(metadata))
        let next = try driver.initProducer("tx")
        #expect((next.producerID, next.producerEpoch) == (1001, 0))
    }

    @Test func aTransactionStoppedBetweenPrepareAndCompleteIsFinishedAtStartUp() throws {
        var driver = TransactionDriver()
        let producer = try driver.initProducer("tx")
        _ = try driver.add("tx", (producer.producerID, producer.producerEpoch), [orders, payments])
        let end = driver.manager.endTransaction(
            transactionalID: "tx", producerID: producer.producerID, producerEpoch: producer.producerEpoch, commit: true,
            now: driver.now)
        // Only the Prepare record reaches the log (the broker dies before the markers).
        var restarted = TransactionManager()
        for record in driver.log + [end.record!] { try restarted.replay(record) }
        #expect(restarted.unfinishedMarkers == [end.markers!])
        #expect(
            restarted.endTransaction(
                transactionalID: "tx", producerID: producer.producerID, producerEpoch: producer.producerEpoch,
                commit: true, now: driver.now
            ).error == .concurrentTransactions)
    }

    @Test func recordsUseKafkasLayout() throws {
        let metadata = TransactionMetadata(
            transactionalID: "t", producerID: 7, producerEpoch: 2, timeoutMs: 60_000, state: .ongoing,
            partitions: [TopicPartition("b", 1), TopicPartition("a", 0), TopicPartition("a", 2)], startTimestamp: 5,
            lastUpdateTimestamp: 6
        )
        let record = TransactionRecord(metadata)
        // Key: version 0, then the id as an int16-length string.
        #expect(Array(record.key.readableBytesView) == [0, 0, 0, 1, UInt8(ascii: "t")])
        var value = try #require(record.value)
        #expect(value.readInteger(as: Int16.self) == 0)
        let decoded = try TransactionLogValue(from: &value, version: 0)
        #expect(decoded.transactionStatus == 1)
        #expect(decoded.transactionPartitions?.map(\.topic) == ["a", "b"])
        #expect(decoded.transactionPartitions?.first?.partitionIDs == [0, 2])
        #expect(try TransactionRecord.decode(key: record.key, value: record.value).1 == metadata)
        var garbage = ByteBuffer()
        garbage.writeInteger(Int16(9))
        #expect(throws: DecodeError.self) { try TransactionRecord.decode(key: garbage, value: nil) }
    }

    @Test func writesAreVerifiedAgainstTheOpenTransaction() throws {
        var driver = TransactionDriver()
        let producer = try driver.initProducer("tx")
        let id = (producer.producerID, producer.producerEpoch)
        func verify(_ partition: TopicPartition, epoch: Int16 = 0, producerID: Int64 = 1000) -> ErrorCode {
            driver.manager.verifyPartition(
                transactionalID: "tx", producerID: producerID, producerEpoch: epoch, partition: partition)
        }
        #expect(verify(orders) == .invalidTxnState)  // nothing open
        _ = try driver.add("tx", id, [orders])
        #expect(verify(orders) == .none)
        #expect(verify(payments) == .invalidTxnState)  // not added
        #expect(verify(orders, epoch: 1) == .invalidProducerEpoch)
        #expect(verify(orders, producerID: 7) == .invalidProducerIDMapping)
        _ = try driver.end("tx", id, commit: true)
        #expect(verify(orders) == .invalidTxnState)  // the transaction ended
    }
}
