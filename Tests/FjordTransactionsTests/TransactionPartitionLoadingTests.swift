import FjordGroups
import FjordTransactions
import KafkaProtocol
import NIOCore
import Testing

/// Loading and unloading the transactional ids of one `__transaction_state` partition as its leadership comes and
/// goes.
@Suite struct TransactionPartitionLoadingTests {
    static let partitionCount: Int32 = 4
    let orders = TopicPartition("orders", 0)

    /// Two ids on different partitions.
    static let first = "txn-a"
    static let second: String = {
        let taken = GroupPlacement.partition(for: first, partitionCount: partitionCount)
        return (0..<100).map { "txn-\($0)" }.first {
            GroupPlacement.partition(for: $0, partitionCount: partitionCount) != taken
        }!
    }()

    static func partition(of id: String) -> Int32 { GroupPlacement.partition(for: id, partitionCount: partitionCount) }

    @Test func aLoadReplaysWhatWasWrittenAndUnloadForgetsThePartition() throws {
        // Flow: 1. two ids on different partitions: the first commits a transaction and opens another, the second
        // is initialized; 2. a coordinator that leads only the first id's partition loads it from the records: the
        // id is back with its producer id, epoch, open transaction and its prepared partitions' markers owed none
        // (ongoing, not prepared); the second id is not there (NOT_COORDINATOR); 3. the partition is unloaded at a
        // newer epoch: the id is gone and NOT_COORDINATOR; a stale unload is ignored.
        var driver = TransactionDriver()
        let producer = try driver.initProducer(Self.first)
        let ids = (producer.producerID, producer.producerEpoch)
        _ = try driver.add(Self.first, ids, [orders])
        _ = try driver.end(Self.first, ids, commit: true)
        _ = try driver.add(Self.first, ids, [orders])
        _ = try driver.initProducer(Self.second)

        var coordinator = TransactionManager()
        let partition = Self.partition(of: Self.first)
        let begunAt2 = coordinator.beginLoading(partition: partition, epoch: 2)
        #expect(begunAt2)
        #expect(
            coordinator.servingError(for: Self.first, partitionCount: Self.partitionCount)
                == .coordinatorLoadInProgress)
        var scratch = TransactionManager()
        for record in driver.log where Self.partition(of: record.transactionalID) == partition {
            try scratch.replay(record)
        }
        let installedAt2 = coordinator.completeLoading(
            partition: partition, epoch: 2, from: scratch, partitionCount: Self.partitionCount)
        #expect(installedAt2)
        #expect(coordinator.transactions[Self.first] == driver.manager.transactions[Self.first])
        #expect(coordinator.transactions[Self.first]?.state == .ongoing)
        #expect(coordinator.transactions[Self.second] == nil)
        #expect(coordinator.servingError(for: Self.first, partitionCount: Self.partitionCount) == .none)
        #expect(coordinator.servingError(for: Self.second, partitionCount: Self.partitionCount) == .notCoordinator)

        let staleUnload = coordinator.unload(partition: partition, epoch: 2, partitionCount: Self.partitionCount)
        #expect(staleUnload == nil)
        #expect(coordinator.transactions[Self.first] != nil)
        let unloadedAt3 = coordinator.unload(partition: partition, epoch: 3, partitionCount: Self.partitionCount)
        #expect(unloadedAt3 == [Self.first])
        #expect(coordinator.transactions[Self.first] == nil)
        #expect(coordinator.servingError(for: Self.first, partitionCount: Self.partitionCount) == .notCoordinator)
    }

    @Test func aLoadOwesTheMarkersOfATransactionStoppedWhilePreparedAndAStaleLoadIsDropped() throws {
        // Flow: 1. an id's transaction reaches PrepareCommit and its old coordinator stops before the markers; 2.
        // the new leader loads the partition: the commit's markers are owed, for that partition only; 3. a reload at
        // epoch 4 overtaken by an unload at epoch 5 installs nothing.
        var driver = TransactionDriver()
        let producer = try driver.initProducer(Self.first)
        let ids = (producer.producerID, producer.producerEpoch)
        _ = try driver.add(Self.first, ids, [orders])
        let plan = driver.manager.endTransaction(
            transactionalID: Self.first, producerID: ids.0, producerEpoch: ids.1, commit: true, now: driver.now)
        let prepare = try #require(plan.record)
        driver.log.append(prepare)

        var coordinator = TransactionManager()
        let partition = Self.partition(of: Self.first)
        let begunAt3 = coordinator.beginLoading(partition: partition, epoch: 3)
        #expect(begunAt3)
        var scratch = TransactionManager()
        for record in driver.log { try scratch.replay(record) }
        let installedAt3 = coordinator.completeLoading(
            partition: partition, epoch: 3, from: scratch, partitionCount: Self.partitionCount)
        #expect(installedAt3)
        let owed = coordinator.unfinishedMarkers(partition: partition, partitionCount: Self.partitionCount)
        #expect(owed.map(\.transactionalID) == [Self.first])
        #expect(owed.first?.commit == true)
        #expect(owed.first?.partitions == [orders])
        let elsewhere = (0..<Self.partitionCount).first { $0 != partition }!
        #expect(coordinator.unfinishedMarkers(partition: elsewhere, partitionCount: Self.partitionCount).isEmpty)

        let begunAt4 = coordinator.beginLoading(partition: partition, epoch: 4)
        #expect(begunAt4)
        let unloadedAt5 = coordinator.unload(partition: partition, epoch: 5, partitionCount: Self.partitionCount)
        #expect(unloadedAt5 != nil)
        let installedAt4 = coordinator.completeLoading(
            partition: partition, epoch: 4, from: scratch, partitionCount: Self.partitionCount)
        #expect(!installedAt4)
        #expect(coordinator.transactions.isEmpty)
    }
}
