import FjordGroups
import KafkaProtocol

/// Loading and unloading the transactional ids of one `__transaction_state` partition, as the partition's
/// leadership comes to this node and leaves it: the driver replays the partition's log into a scratch manager off
/// the lock and installs it with `completeLoading`; `unload` forgets the partition's ids, which another broker now
/// coordinates.
extension TransactionManager {
    /// Starts loading `partition`, led by this node at `epoch`; false when there is nothing to load (see
    /// `CoordinatorPartitions`).
    public mutating func beginLoading(partition: Int32, epoch: LeaderEpoch) -> Bool {
        partitions.beginLoad(partition, epoch: epoch)
    }

    /// Installs the transactional ids of `partition` from `loaded` (a manager its records were replayed into) if
    /// the partition is still loading at `epoch`; false, changing nothing, when the load is stale.
    public mutating func completeLoading(
        partition: Int32, epoch: LeaderEpoch, from loaded: TransactionManager, partitionCount: Int32
    ) -> Bool {
        guard partitions.completeLoad(partition, epoch: epoch) else { return false }
        removeTransactions(of: partition, partitionCount: partitionCount)
        for (id, metadata) in loaded.transactions
        where GroupPlacement.partition(for: id, partitionCount: partitionCount) == partition {
            transactions[id] = metadata
        }
        return true
    }

    /// A load begun at `epoch` could not read its log: the partition is not served until a later image begins
    /// the load again.
    public mutating func abandonLoading(partition: Int32, epoch: LeaderEpoch) {
        partitions.abandonLoad(partition, epoch: epoch)
    }

    /// Stops serving `partition`, whose leadership moved on to `epoch` (nil: deleted): the transactional ids it
    /// held, or nil when the unload is stale or the partition was not served.
    public mutating func unload(partition: Int32, epoch: LeaderEpoch?, partitionCount: Int32) -> [String]? {
        guard partitions.unload(partition, epoch: epoch) else { return nil }
        return removeTransactions(of: partition, partitionCount: partitionCount)
    }

    /// Whether `transactionalID`'s partition is loaded here: .none, COORDINATOR_LOAD_IN_PROGRESS while it loads,
    /// NOT_COORDINATOR when it is not served.
    public func servingError(for transactionalID: String, partitionCount: Int32) -> ErrorCode {
        switch partitions.status(of: GroupPlacement.partition(for: transactionalID, partitionCount: partitionCount)) {
        case .active: .none
        case .loading: .coordinatorLoadInProgress
        case nil: .notCoordinator
        }
    }

    /// The transactions of `partition` stopped between their Prepare and Complete records: their markers are
    /// owed (a load completes them, as Kafka's coordinator does when it becomes leader).
    public func unfinishedMarkers(partition: Int32, partitionCount: Int32) -> [TransactionMarkers] {
        unfinishedMarkers.filter {
            GroupPlacement.partition(for: $0.transactionalID, partitionCount: partitionCount) == partition
        }
    }

    @discardableResult
    private mutating func removeTransactions(of partition: Int32, partitionCount: Int32) -> [String] {
        let removed = transactions.keys.filter {
            GroupPlacement.partition(for: $0, partitionCount: partitionCount) == partition
        }
        for id in removed { transactions[id] = nil }
        return removed.sorted()
    }
}
