import FjordGroups
import KafkaProtocol
import NIOCore
import Testing

/// Loading and unloading the groups of one `__consumer_offsets` partition as its leadership comes and goes, and the
/// epochs that keep a stale load or unload from undoing a newer one.
@Suite struct GroupPartitionLoadingTests {
    static let partitionCount: Int32 = 4
    /// "g" and "h" land on different partitions of four (Java's hash codes 103 and 104).
    static let partitionOfG = GroupPlacement.partition(for: "g", partitionCount: partitionCount)
    static let partitionOfH = GroupPlacement.partition(for: "h", partitionCount: partitionCount)

    @Test func epochsOrderLoadsAndUnloads() {
        // Flow: 1. a load at epoch 3 begins and completes; 2. the same epoch again is nothing to do; 3. an unload at
        // epoch 3 (not newer) is stale, at 4 it applies; 4. a load still at 3 cannot begin after that; 5. a load at 5
        // begins, an unload at 6 comes in before it completes, and the load's completion is refused; 6. an unload
        // without epoch (deleted) forgets the epochs, so a recreated topic loads from epoch 0.
        var partitions = CoordinatorPartitions()
        let loadAt3 = partitions.beginLoad(1, epoch: 3)
        #expect(loadAt3 && partitions.status(of: 1) == .loading)
        let loadedAt3 = partitions.completeLoad(1, epoch: 3)
        #expect(loadedAt3 && partitions.isActive(1))
        let againAt3 = partitions.beginLoad(1, epoch: 3)
        #expect(!againAt3)
        let unloadAt3 = partitions.unload(1, epoch: 3)
        #expect(!unloadAt3 && partitions.isActive(1))
        let unloadAt4 = partitions.unload(1, epoch: 4)
        #expect(unloadAt4 && partitions.status(of: 1) == nil)
        let staleLoadAt3 = partitions.beginLoad(1, epoch: 3)
        #expect(!staleLoadAt3)
        let loadAt5 = partitions.beginLoad(1, epoch: 5)
        let unloadAt6 = partitions.unload(1, epoch: 6)
        let loadedAt5 = partitions.completeLoad(1, epoch: 5)
        #expect(loadAt5 && unloadAt6 && !loadedAt5)
        #expect(partitions.status(of: 1) == nil)
        let deletedUnserved = partitions.unload(1, epoch: nil)
        let loadAt0 = partitions.beginLoad(1, epoch: 0)
        #expect(!deletedUnserved && loadAt0)
        let deleted = partitions.unload(1, epoch: nil)
        let recreatedAt0 = partitions.beginLoad(1, epoch: 0)
        #expect(deleted && recreatedAt0)
    }

    @Test func unloadRemovesThePartitionsGroupsAndAnswersWaitingRequests() throws {
        // Flow: 1. group "g" is stable with a committed offset, group "h" (another partition) has one too; 2. a
        // second member of "g" waits in JoinGroup; 3. "g"'s partition is unloaded at a newer epoch: "g"'s group and
        // offsets are gone, the waiting join is answered NOT_COORDINATOR, "h" is untouched; 4. requests for "g" are
        // NOT_COORDINATOR now, for "h" still served.
        #expect(Self.partitionOfG != Self.partitionOfH)
        var h = try loadedHarness()
        let (_, a) = h.joinNew("g")
        _ = h.sync("g", member: a, generation: 1)
        try commit(&h, group: "g", offset: 7, generation: 1, member: a)
        try commit(&h, group: "h", offset: 9)
        let (secondJoin, _) = h.joinNew("g")
        #expect(h.joins[secondJoin] == nil)
        let unload = h.manager.unload(partition: Self.partitionOfG, epoch: 2, partitionCount: Self.partitionCount)
        let unloaded = try #require(unload)
        #expect(unloaded.groupIDs == ["g"])
        h.absorb(unloaded.outputs)
        #expect(h.joins[secondJoin]?.errorCode == ErrorCode.notCoordinator.rawValue)
        #expect(h.manager.groups["g"] == nil)
        #expect(h.manager.offsets["g"] == nil)
        #expect(h.manager.offsets["h"]?[TopicPartition("t", 0)]?.offset == 9)
        #expect(h.manager.servingError(for: "g", partitionCount: Self.partitionCount) == .notCoordinator)
        #expect(h.manager.servingError(for: "h", partitionCount: Self.partitionCount) == .none)
        // The session timer went with the group: a tick long after does nothing for "g".
        h.advance(60_000)
        #expect(h.manager.groups["g"] == nil)
    }

    @Test func aLoadReplaysWhatWasWrittenAndAStaleLoadIsDropped() throws {
        // Flow: 1. "g" forms and commits, "h" commits: every record kept; 2. a new leader loads "g"'s partition at
        // epoch 5 from the records of that partition only: the group (generation, members, state) and the offsets are
        // back, "h" is not (another partition); 3. while "g"'s partition reloads at epoch 7 an unload at epoch 8
        // comes in: the finished load is dropped and nothing of it is installed.
        var h = try loadedHarness()
        let (_, a) = h.joinNew("g")
        _ = h.sync("g", member: a, generation: 1, assignments: [a: "A"])
        try commit(&h, group: "g", offset: 7, generation: 1, member: a)
        try commit(&h, group: "h", offset: 9)
        let written = h.records

        var coordinator = GroupManager()
        #expect(coordinator.servingError(for: "g", partitionCount: Self.partitionCount) == .notCoordinator)
        let begunAt5 = coordinator.beginLoading(partition: Self.partitionOfG, epoch: 5)
        #expect(begunAt5)
        #expect(coordinator.servingError(for: "g", partitionCount: Self.partitionCount) == .coordinatorLoadInProgress)
        let scratch = try replay(written, partition: Self.partitionOfG, now: h.now)
        let installedAt5 = coordinator.completeLoading(
            partition: Self.partitionOfG, epoch: 5, from: scratch, partitionCount: Self.partitionCount)
        #expect(installedAt5)
        #expect(coordinator.servingError(for: "g", partitionCount: Self.partitionCount) == .none)
        let group = try #require(coordinator.groups["g"])
        #expect(group.generationID == 1)
        #expect(group.state == .stable)
        #expect(group.members[a]?.assignment == ByteBuffer(string: "A"))
        #expect(coordinator.offsets["g"]?[TopicPartition("t", 0)]?.offset == 7)
        #expect(coordinator.offsets["h"] == nil)

        let begunAt7 = coordinator.beginLoading(partition: Self.partitionOfG, epoch: 7)
        #expect(begunAt7)
        let unloadedAt8 = coordinator.unload(
            partition: Self.partitionOfG, epoch: 8, partitionCount: Self.partitionCount)
        #expect(unloadedAt8 != nil)
        let installedAt7 = coordinator.completeLoading(
            partition: Self.partitionOfG, epoch: 7, from: scratch, partitionCount: Self.partitionCount)
        #expect(!installedAt7)
        #expect(coordinator.groups["g"] == nil)
        #expect(coordinator.offsets["g"] == nil)
        #expect(coordinator.servingError(for: "g", partitionCount: Self.partitionCount) == .notCoordinator)
    }

    /// A harness whose manager serves every partition at epoch 1.
    private func loadedHarness() throws -> Harness {
        var h = Harness()
        for partition in 0..<Self.partitionCount {
            let begun = h.manager.beginLoading(partition: partition, epoch: 1)
            #expect(begun)
            let installed = h.manager.completeLoading(
                partition: partition, epoch: 1, from: GroupManager(), partitionCount: Self.partitionCount)
            #expect(installed)
        }
        return h
    }

    private func commit(
        _ h: inout Harness, group: String, offset: Int64, generation: Int32 = -1, member: String = ""
    ) throws {
        let entry = GroupManager.OffsetCommitEntry(
            partition: TopicPartition("t", 0), offset: offset, leaderEpoch: -1, metadata: nil)
        let result = h.manager.commitOffsets(
            groupID: group, generationID: generation, memberID: member, instanceID: nil, entries: [entry], now: h.now
        ) { _ in true }
        #expect(result.answer == [.none])
        h.records += result.records
        for record in result.records { try h.manager.replay(key: record.key, value: record.value, now: h.now) }
    }

    /// What loading `partition` reads: the records of the groups placed on it, replayed in order.
    private func replay(_ records: [GroupRecord], partition: Int32, now: Int64) throws -> GroupManager {
        var manager = GroupManager()
        for record in records
        where GroupPlacement.partition(for: record.groupID, partitionCount: Self.partitionCount) == partition {
            try manager.replay(key: record.key, value: record.value, now: now)
        }
        return manager
    }
}
