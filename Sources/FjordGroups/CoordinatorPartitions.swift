import KafkaProtocol

/// Which partitions of a coordinator's internal topic (`__consumer_offsets`, `__transaction_state`) the coordinator
/// serves, each with the leader epoch it was loaded at: Kafka's per-partition coordinator contexts. A partition is
/// loading (its log is being read back; requests for its keys get COORDINATOR_LOAD_IN_PROGRESS) or active; a
/// partition not listed is not served (NOT_COORDINATOR).
///
/// Epochs order loads and unloads that race (they are scheduled from metadata images and carried out on other
/// threads): a load is begun only at an epoch newer than any load or unload seen for the partition, completed only
/// if the partition is still loading at that epoch, and an unload applies only at an epoch newer than the loaded
/// one — as Kafka's `CoordinatorRuntime` does. An unload without an epoch (the topic or partition was deleted)
/// always applies and forgets the partition's epochs, since a recreated topic counts its epochs from 0 again.
public struct CoordinatorPartitions: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case loading
        case active
    }

    public struct Entry: Sendable, Equatable {
        public var status: Status
        public var epoch: LeaderEpoch
    }

    /// The partitions served or being loaded.
    public private(set) var entries: [Int32: Entry] = [:]
    /// The newest epoch a load or unload named per partition, kept after an unload so that a load scheduled
    /// before it cannot begin after it.
    private var newestEpochs: [Int32: LeaderEpoch] = [:]

    public init() {}

    public func status(of partition: Int32) -> Status? { entries[partition]?.status }

    public func epoch(of partition: Int32) -> LeaderEpoch? { entries[partition]?.epoch }

    /// Whether requests for keys of `partition` may be served.
    public func isActive(_ partition: Int32) -> Bool { entries[partition]?.status == .active }

    /// Starts loading `partition`, which this node leads at `epoch`. False (nothing to do) when the partition is
    /// already loading or active at `epoch`, or a newer epoch was seen.
    public mutating func beginLoad(_ partition: Int32, epoch: LeaderEpoch) -> Bool {
        if let newest = newestEpochs[partition], epoch <= newest { return false }
        newestEpochs[partition] = epoch
        entries[partition] = Entry(status: .loading, epoch: epoch)
        return true
    }

    /// Ends the load begun at `epoch`: true if the partition is still loading at that epoch (the loaded state may
    /// be installed), false if an unload or a newer load came in between (the loaded state must be dropped).
    public mutating func completeLoad(_ partition: Int32, epoch: LeaderEpoch) -> Bool {
        guard entries[partition] == Entry(status: .loading, epoch: epoch) else { return false }
        entries[partition]?.status = .active
        return true
    }

    /// Stops serving `partition`, whose leadership moved on to `epoch` (nil: the partition is gone). True if the
    /// partition was loading or active and its state must go; false for a stale unload (at an epoch not newer than
    /// the one the partition was loaded at) or a partition not served.
    public mutating func unload(_ partition: Int32, epoch: LeaderEpoch?) -> Bool {
        guard let epoch else {
            newestEpochs[partition] = nil
            return entries.removeValue(forKey: partition) != nil
        }
        if let newest = newestEpochs[partition], epoch <= newest { return false }
        newestEpochs[partition] = epoch
        return entries.removeValue(forKey: partition) != nil
    }

    /// A load begun at `epoch` failed (its log could not be read): the partition is not served, and the next
    /// image may begin the load again at the same epoch.
    public mutating func abandonLoad(_ partition: Int32, epoch: LeaderEpoch) {
        guard entries[partition] == Entry(status: .loading, epoch: epoch) else { return }
        entries[partition] = nil
        newestEpochs[partition] = nil
    }
}
