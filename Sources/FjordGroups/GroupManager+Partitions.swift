import KafkaProtocol

/// Loading and unloading the groups of one `__consumer_offsets` partition, as the partition's leadership comes to
/// this node and leaves it. The driver reads the partition's log back into a scratch manager (`replay`) off the
/// lock, then installs it with `completeLoading`; `unload` removes what the partition held and answers the requests
/// still waiting on its groups NOT_COORDINATOR, so their members find the new coordinator.
extension GroupManager {
    /// What unloading a partition removed: the group ids (classic, consumer and offset-only ones) and the answers
    /// owed to the JoinGroup/SyncGroup requests that were waiting in them.
    public struct Unloaded: Sendable {
        public var groupIDs: [String] = []
        public var outputs = GroupOutputs()
    }

    /// Starts loading `partition`, led by this node at `epoch`; false when there is nothing to load (already
    /// loading or loaded at that epoch, or a newer epoch was seen). See `CoordinatorPartitions`.
    public mutating func beginLoading(partition: Int32, epoch: LeaderEpoch) -> Bool {
        partitions.beginLoad(partition, epoch: epoch)
    }

    /// Installs the groups and offsets of `partition` from `loaded` (a manager its records were replayed into) if
    /// the partition is still loading at `epoch`; returns false, changing nothing, when the load is stale.
    public mutating func completeLoading(
        partition: Int32, epoch: LeaderEpoch, from loaded: GroupManager, partitionCount: Int32
    ) -> Bool {
        guard partitions.completeLoad(partition, epoch: epoch) else { return false }
        _ = removeGroups(of: partition, partitionCount: partitionCount)
        let belongs = { (groupID: String) in
            GroupPlacement.partition(for: groupID, partitionCount: partitionCount) == partition
        }
        for (groupID, group) in loaded.groups where belongs(groupID) { groups[groupID] = group }
        for (groupID, committed) in loaded.offsets where belongs(groupID) { offsets[groupID] = committed }
        for (groupID, group) in loaded.consumerGroups.groups where belongs(groupID) {
            consumerGroups.groups[groupID] = group
        }
        return true
    }

    /// A load begun at `epoch` could not read its log: the partition is not served until a later image begins
    /// the load again.
    public mutating func abandonLoading(partition: Int32, epoch: LeaderEpoch) {
        partitions.abandonLoad(partition, epoch: epoch)
    }

    /// Stops serving `partition`, whose leadership moved on to `epoch` (nil: deleted). Nil when the unload is
    /// stale or the partition was not served; otherwise its groups are gone (their timers with them) and the
    /// waiting requests are answered NOT_COORDINATOR.
    public mutating func unload(partition: Int32, epoch: LeaderEpoch?, partitionCount: Int32) -> Unloaded? {
        guard partitions.unload(partition, epoch: epoch) else { return nil }
        return removeGroups(of: partition, partitionCount: partitionCount)
    }

    /// Whether `groupID`'s partition is loaded here: .none, COORDINATOR_LOAD_IN_PROGRESS while it loads,
    /// NOT_COORDINATOR when it is not served.
    public func servingError(for groupID: String, partitionCount: Int32) -> ErrorCode {
        switch partitions.status(of: GroupPlacement.partition(for: groupID, partitionCount: partitionCount)) {
        case .active: .none
        case .loading: .coordinatorLoadInProgress
        case nil: .notCoordinator
        }
    }

    private mutating func removeGroups(of partition: Int32, partitionCount: Int32) -> Unloaded {
        let belongs = { (groupID: String) in
            GroupPlacement.partition(for: groupID, partitionCount: partitionCount) == partition
        }
        var unloaded = Unloaded()
        var removed = Set<String>()
        for (groupID, group) in groups where belongs(groupID) {
            removed.insert(groupID)
            for member in group.orderedMembers {
                if let pending = member.pendingJoin {
                    unloaded.outputs.joinResponses.append(
                        (pending.requestID, Self.joinError(.notCoordinator, memberID: member.memberID)))
                }
                if let pending = member.pendingSync {
                    unloaded.outputs.syncResponses.append((pending, Self.syncError(.notCoordinator)))
                }
            }
            groups[groupID] = nil
        }
        for groupID in offsets.keys where belongs(groupID) {
            removed.insert(groupID)
            offsets[groupID] = nil
        }
        for groupID in consumerGroups.groups.keys where belongs(groupID) {
            removed.insert(groupID)
            consumerGroups.groups[groupID] = nil
        }
        unloaded.groupIDs = removed.sorted()
        return unloaded
    }
}
