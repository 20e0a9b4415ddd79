import FjordGroups
import KafkaProtocol
import NIOCore
import Testing

/// A scripted driver: numbered requests, answers collected by request id, a clock the test moves.
struct Harness {
    var manager: GroupManager
    var now: Int64 = 1_000_000
    var nextID: RequestID = 0
    var joins: [RequestID: JoinGroupResponse] = [:]
    var syncs: [RequestID: SyncGroupResponse] = [:]
    var records: [GroupRecord] = []

    init(initialDelayMs: Int32 = 0, maxSize: Int = Int(Int32.max)) {
        var configuration = GroupConfiguration()
        configuration.initialRebalanceDelayMs = initialDelayMs
        configuration.maxSize = maxSize
        manager = GroupManager(configuration: configuration)
    }

    mutating func absorb(_ outputs: GroupOutputs) {
        records += outputs.records
        for (id, response) in outputs.joinResponses { joins[id] = response }
        for (id, response) in outputs.syncResponses { syncs[id] = response }
    }

    /// Sends a JoinGroup; returns its request id (the answer may come later).
    mutating func join(
        _ group: String = "g", member: String = "", instance: String? = nil, session: Int32 = 10_000,
        rebalance: Int32 = 30_000,
        protocols: [(String, String)] = [("range", "m")], version: Int16 = 9, newID: String? = nil
    ) -> RequestID {
        nextID += 1
        let request = JoinGroupRequest(
            groupID: group, sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, memberID: member,
            groupInstanceID: instance,
            protocolType: "consumer", protocols: protocols.map { .init(name: $0.0, metadata: ByteBuffer(string: $0.1)) }
        )
        let context = JoinContext(
            requestID: nextID, version: version, clientID: "c", clientHost: "/127.0.0.1",
            newMemberID: newID ?? "m\(nextID)", now: now)
        absorb(manager.join(request, context: context))
        return nextID
    }

    /// Joins a new dynamic member through MEMBER_ID_REQUIRED; returns the join request id of the second join.
    mutating func joinNew(
        _ group: String = "g", session: Int32 = 10_000, rebalance: Int32 = 30_000,
        protocols: [(String, String)] = [("range", "m")]
    ) -> (RequestID, String) {
        let first = join(group, session: session, rebalance: rebalance, protocols: protocols)
        let memberID = joins[first]!.memberID
        #expect(joins[first]!.errorCode == ErrorCode.memberIDRequired.rawValue)
        return (join(group, member: memberID, session: session, rebalance: rebalance, protocols: protocols), memberID)
    }

    mutating func sync(_ group: String = "g", member: String, generation: Int32, assignments: [String: String] = [:])
        -> RequestID
    {
        nextID += 1
        let request = SyncGroupRequest(
            groupID: group, generationID: generation, memberID: member,
            assignments: assignments.sorted { $0.key < $1.key }.map {
                .init(memberID: $0.key, assignment: ByteBuffer(string: $0.value))
            }
        )
        absorb(manager.sync(request, requestID: nextID, now: now))
        return nextID
    }

    mutating func advance(_ ms: Int64) {
        now += ms
        absorb(manager.tick(now: now))
    }

    func state(_ group: String = "g") -> GroupState? { manager.groups[group]?.state }
}

@Suite struct GroupScenarioTests {
    @Test func singleMemberJoinsSyncsAndHeartbeats() {
        // Flow: 1. a new member joins and gets MEMBER_ID_REQUIRED; 2. it rejoins with the id and becomes leader of
        // generation 1; 3. its SyncGroup makes the group stable and writes the group record; 4. heartbeats pass.
        var h = Harness()
        let (join, memberID) = h.joinNew()
        let response = h.joins[join]!
        #expect(response.errorCode == 0)
        #expect(response.generationID == 1)
        #expect(response.leader == memberID)
        #expect(response.protocolName == "range")
        #expect(response.members.map(\.memberID) == [memberID])
        #expect(h.state() == .completingRebalance)
        let sync = h.sync(member: memberID, generation: 1, assignments: [memberID: "A"])
        #expect(h.syncs[sync]?.errorCode == 0)
        #expect(h.syncs[sync]?.assignment == ByteBuffer(string: "A"))
        #expect(h.state() == .stable)
        #expect(h.records.count == 1)
        #expect(
            h.manager.heartbeat(groupID: "g", memberID: memberID, instanceID: nil, generationID: 1, now: h.now) == .none
        )
        #expect(
            h.manager.heartbeat(groupID: "g", memberID: memberID, instanceID: nil, generationID: 0, now: h.now)
                == .illegalGeneration)
        #expect(
            h.manager.heartbeat(groupID: "g", memberID: "nobody", instanceID: nil, generationID: 1, now: h.now)
                == .unknownMemberID)
    }

    @Test func secondMemberTriggersRebalanceAndBothGetAssignments() {
        // Flow: 1. member A forms generation 1; 2. B joins: A's heartbeat says REBALANCE_IN_PROGRESS; 3. A rejoins,
        // generation 2 completes with A as leader seeing both; 4. B's sync waits until A's sync distributes both.
        var h = Harness()
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1, assignments: [a: "all"])
        let (joinB, b) = h.joinNew()
        #expect(h.joins[joinB] == nil)
        #expect(h.state() == .preparingRebalance)
        #expect(
            h.manager.heartbeat(groupID: "g", memberID: a, instanceID: nil, generationID: 1, now: h.now)
                == .rebalanceInProgress)
        let rejoinA = h.join(member: a)
        #expect(h.joins[rejoinA]?.generationID == 2)
        #expect(h.joins[rejoinA]?.members.count == 2)
        #expect(h.joins[joinB]?.members.isEmpty == true)
        #expect(h.joins[joinB]?.leader == a)
        let syncB = h.sync(member: b, generation: 2)
        #expect(h.syncs[syncB] == nil)
        let syncA = h.sync(member: a, generation: 2, assignments: [a: "p0", b: "p1", "ghost": "x"])
        #expect(h.syncs[syncA]?.assignment == ByteBuffer(string: "p0"))
        #expect(h.syncs[syncB]?.assignment == ByteBuffer(string: "p1"))
        #expect(h.state() == .stable)
    }

    @Test func sessionTimeoutRemovesSilentMember() {
        // Flow: 1. A and B form a stable group; 2. only A heartbeats; 3. after B's session timeout the group
        // rebalances; 4. A rejoins alone and leads generation 3.
        var h = Harness()
        let (_, a) = h.joinNew(session: 6000)
        _ = h.sync(member: a, generation: 1)
        let (joinB, b) = h.joinNew(session: 6000)
        _ = h.join(member: a, session: 6000)
        #expect(h.joins[joinB]?.generationID == 2)
        _ = h.sync(member: a, generation: 2)
        _ = h.sync(member: b, generation: 2)
        for _ in 0..<4 {
            h.advance(2000)
            #expect(
                h.manager.heartbeat(groupID: "g", memberID: a, instanceID: nil, generationID: 2, now: h.now)
                    != .unknownMemberID)
        }
        #expect(h.manager.groups["g"]?.members[b] == nil)
        #expect(h.state() == .preparingRebalance)
        let rejoin = h.join(member: a, session: 6000)
        #expect(h.joins[rejoin]?.generationID == 3)
        #expect(h.joins[rejoin]?.members.map(\.memberID) == [a])
    }

    @Test func membersThatNeverSyncAreRemovedAfterTheRebalanceTimeout() {
        // Flow: 1. A leads generation 1 and B follows (rebalance timeout 5 s, sessions 10 s); 2. both keep
        // heartbeating but the leader never sends SyncGroup; 3. B syncs and waits; 4. past the rebalance timeout the
        // silent leader is removed (as Kafka's pending-sync expiry does), B's waiting sync is answered
        // REBALANCE_IN_PROGRESS and the group rebalances instead of hanging in CompletingRebalance.
        var h = Harness()
        let (_, a) = h.joinNew(rebalance: 5000)
        _ = h.sync(member: a, generation: 1)
        let (joinB, b) = h.joinNew(rebalance: 5000)
        let rejoinA = h.join(member: a, rebalance: 5000)
        #expect(h.joins[rejoinA]?.generationID == 2 && h.joins[joinB]?.generationID == 2)
        let syncB = h.sync(member: b, generation: 2)
        #expect(h.syncs[syncB] == nil)
        for _ in 0..<2 {
            h.advance(2000)
            #expect(
                h.manager.heartbeat(groupID: "g", memberID: a, instanceID: nil, generationID: 2, now: h.now) == .none)
            #expect(
                h.manager.heartbeat(groupID: "g", memberID: b, instanceID: nil, generationID: 2, now: h.now) == .none)
        }
        #expect(h.state() == .completingRebalance)
        h.advance(1500)
        #expect(h.manager.groups["g"]?.members[a] == nil)
        #expect(h.manager.groups["g"]?.members[b] != nil)
        #expect(h.state() == .preparingRebalance)
        #expect(h.syncs[syncB]?.errorCode == ErrorCode.rebalanceInProgress.rawValue)
    }

    @Test func leaveGroupEmptiesGroupAndDeleteWorks() {
        // Flow: 1. a member forms the group; 2. it leaves: the group is Empty at generation 2; 3. DeleteGroups on
        // the empty group returns tombstones, which replayed remove it; 4. a non-empty group is refused.
        var h = Harness()
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1)
        let result = h.manager.leave(groupID: "g", members: [.init(memberID: a, instanceID: nil)], now: h.now)
        h.absorb(result.outputs)
        #expect(result.errors == [.none])
        #expect(h.state() == .empty)
        #expect(h.manager.groups["g"]?.generationID == 2)
        let (_, other) = h.joinNew("busy")
        #expect(!other.isEmpty)
        let deletion = h.manager.deleteGroups(["g", "busy", "missing"])
        #expect(deletion.answer == [.none, .nonEmptyGroupError, .groupIDNotFoundError])
        for record in deletion.records { try! h.manager.replay(key: record.key, value: record.value, now: h.now) }
        #expect(h.manager.groups["g"] == nil)
    }

    @Test func staticMemberRejoinsWithoutRebalance() {
        // Flow: 1. two static members form a stable group; 2. instance "i2" restarts (JoinGroup without member id):
        // it gets the same generation at once, its old id is fenced; 3. its SyncGroup returns its old assignment;
        // 4. the old member id's heartbeat is FENCED_INSTANCE_ID.
        var h = Harness()
        let j1 = h.join(instance: "i1", newID: "s1")
        #expect(h.joins[j1]?.generationID == 1)
        _ = h.sync(member: "s1", generation: 1, assignments: ["s1": "A"])
        let j2 = h.join(instance: "i2", newID: "s2")
        #expect(h.state() == .preparingRebalance)
        _ = h.join(member: "s1", instance: "i1")
        #expect(h.joins[j2]?.generationID == 2)
        let s2 = h.sync(member: "s2", generation: 2)
        _ = h.sync(member: "s1", generation: 2, assignments: ["s1": "A", "s2": "B"])
        #expect(h.syncs[s2]?.assignment == ByteBuffer(string: "B"))
        let restart = h.join(instance: "i2", newID: "s2b")
        #expect(h.joins[restart]?.errorCode == 0)
        #expect(h.joins[restart]?.generationID == 2)
        #expect(h.state() == .stable)
        let resync = h.sync(member: "s2b", generation: 2)
        #expect(h.syncs[resync]?.assignment == ByteBuffer(string: "B"))
        #expect(
            h.manager.heartbeat(groupID: "g", memberID: "s2", instanceID: "i2", generationID: 2, now: h.now)
                == .fencedInstanceID)
        // A restarting static leader gets skip_assignment and the member list (v9).
        let leader = h.join(instance: "i1", newID: "s1b")
        #expect(h.joins[leader]?.skipAssignment == true)
        #expect(h.joins[leader]?.leader == "s1b")
        #expect(h.state() == .stable)
        // Before v9 it is told the old leader id instead, so it does not assign.
        let oldLeader = h.join(instance: "i1", version: 5, newID: "s1c")
        #expect(h.joins[oldLeader]?.leader == "s1b")
        #expect(h.joins[oldLeader]?.members.isEmpty == true)
        #expect(h.manager.groups["g"]?.leaderID == "s1c")
        #expect(h.state() == .stable)
    }

    @Test func initialRebalanceDelayWaitsForMoreMembers() {
        // Flow: 1. with a 3 s initial delay, A joins an empty group and waits; 2. B joins 1 s later; 3. nothing
        // completes before the delay; 4. after it, both get generation 1.
        var h = Harness(initialDelayMs: 3000)
        let (ja, _) = h.joinNew()
        h.advance(1000)
        let (jb, _) = h.joinNew()
        h.advance(1000)
        #expect(h.joins[ja] == nil)
        h.advance(3000)
        #expect(h.joins[ja]?.generationID == 1)
        #expect(h.joins[jb]?.generationID == 1)
    }

    @Test func protocolSelectionAndInconsistency() {
        // Flow: 1. A offers [cooperative-sticky, range], B offers [range]: range is chosen; 2. C with an unrelated
        // protocol is refused with INCONSISTENT_GROUP_PROTOCOL.
        var h = Harness()
        let (ja, a) = h.joinNew(protocols: [("cooperative-sticky", "x"), ("range", "y")])
        _ = h.sync(member: a, generation: 1)
        #expect(h.joins[ja]?.protocolName == "cooperative-sticky")
        let (jb, _) = h.joinNew(protocols: [("range", "z")])
        _ = h.join(member: a, protocols: [("cooperative-sticky", "x"), ("range", "y")])
        #expect(h.joins[jb]?.protocolName == "range")
        let jc = h.join(protocols: [("roundrobin", "q")])
        #expect(h.joins[jc]?.errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)
    }

    @Test func groupMaxSizeAndSessionBounds() {
        // Flow: 1. a group of max size 1 refuses a second member; 2. a session timeout below the minimum is refused.
        var h = Harness(maxSize: 1)
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1)
        let refused = h.join()
        #expect(h.joins[refused]?.errorCode == ErrorCode.groupMaxSizeReached.rawValue)
        let short = h.join("other", session: 10)
        #expect(h.joins[short]?.errorCode == ErrorCode.invalidSessionTimeout.rawValue)
    }

    @Test func offsetsCommitReplayAndRestart() throws {
        // Flow: 1. a simple commit (generation -1) returns one record per partition; 2. replaying them stores the
        // offsets; 3. a fresh manager replaying the same records (a restart) answers OffsetFetch the same; 4. a
        // commit from a stale generation is refused.
        var h = Harness()
        let entries = [
            GroupManager.OffsetCommitEntry(
                partition: TopicPartition("t", 0), offset: 42, leaderEpoch: 3, metadata: "meta")
        ]
        let result = h.manager.commitOffsets(
            groupID: "simple", generationID: -1, memberID: "", instanceID: nil, entries: entries, now: h.now
        ) { _ in true }
        #expect(result.answer == [.none])
        for record in result.records { try h.manager.replay(key: record.key, value: record.value, now: h.now) }
        let fetched = h.manager.fetchOffsets(groupID: "simple", partitions: nil)
        #expect(fetched.first?.1?.offset == 42)
        var restarted = GroupManager()
        for record in result.records { try restarted.replay(key: record.key, value: record.value, now: h.now) }
        #expect(
            restarted.fetchOffsets(groupID: "simple", partitions: [TopicPartition("t", 0)]).first?.1?.metadata == "meta"
        )
        #expect(restarted.listGroups(statesFilter: [], typesFilter: []).map(\.groupID) == ["simple"])
        let unknown = h.manager.commitOffsets(
            groupID: "simple", generationID: -1, memberID: "", instanceID: nil, entries: entries, now: h.now
        ) { _ in false }
        #expect(unknown.answer == [.unknownTopicOrPartition])
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1)
        let stale = h.manager.commitOffsets(
            groupID: "g", generationID: 0, memberID: a, instanceID: nil, entries: entries, now: h.now
        ) { _ in true }
        #expect(stale.answer == [.illegalGeneration])
        let stranger = h.manager.commitOffsets(
            groupID: "g", generationID: 1, memberID: "x", instanceID: nil, entries: entries, now: h.now
        ) { _ in true }
        #expect(stranger.answer == [.unknownMemberID])
    }

    @Test func groupMetadataRecordRestoresStableGroup() throws {
        // Flow: 1. a group becomes stable; 2. its group record replayed into a new manager restores the members,
        // generation and assignment; 3. the member's heartbeat is accepted after the "restart".
        var h = Harness()
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1, assignments: [a: "A"])
        var restarted = GroupManager()
        for record in h.records { try restarted.replay(key: record.key, value: record.value, now: h.now) }
        #expect(restarted.groups["g"]?.state == .stable)
        #expect(restarted.groups["g"]?.members[a]?.assignment == ByteBuffer(string: "A"))
        #expect(restarted.heartbeat(groupID: "g", memberID: a, instanceID: nil, generationID: 1, now: h.now) == .none)
    }

    @Test func offsetsOfEmptyGroupsExpireAfterRetention() throws {
        // Flow: 1. a simple group commits two partitions at t0 and one more at t0+1 day; 2. with 7 days of
        // retention nothing expires at t0+6 days; 3. at t0+7 days the first two expire; 4. at t0+8 days the last
        // one and the group go; 5. a stable group's offsets never expire.
        var h = Harness()
        let day: Int64 = 86_400_000
        func commit(_ group: String, _ partition: Int32, generation: Int32 = -1, member: String = "") throws {
            let entry = GroupManager.OffsetCommitEntry(
                partition: TopicPartition("t", partition), offset: 1, leaderEpoch: -1, metadata: nil)
            let result = h.manager.commitOffsets(
                groupID: group, generationID: generation, memberID: member, instanceID: nil, entries: [entry],
                now: h.now
            ) { _ in true }
            #expect(result.answer == [.none])
            for record in result.records { try h.manager.replay(key: record.key, value: record.value, now: h.now) }
        }
        func expire() throws {
            for record in h.manager.expireOffsets(now: h.now) {
                try h.manager.replay(key: record.key, value: record.value, now: h.now)
            }
        }
        let start = h.now
        try commit("simple", 0)
        try commit("simple", 1)
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1)
        try commit("g", 0, generation: 1, member: a)
        h.now = start + day
        _ = h.manager.heartbeat(groupID: "g", memberID: a, instanceID: nil, generationID: 1, now: h.now)
        try commit("simple", 2)
        h.now = start + 6 * day
        try expire()
        #expect(h.manager.fetchOffsets(groupID: "simple", partitions: nil).count == 3)
        h.now = start + 7 * day
        try expire()
        #expect(h.manager.fetchOffsets(groupID: "simple", partitions: nil).map(\.0.partition) == [2])
        h.now = start + 8 * day
        try expire()
        #expect(h.manager.fetchOffsets(groupID: "simple", partitions: nil).isEmpty)
        #expect(h.manager.groups["simple"] == nil)
        #expect(h.manager.fetchOffsets(groupID: "g", partitions: nil).count == 1)
    }

    @Test(arguments: [("", 0), ("a", 97), ("hello", 99_162_322), ("polygenelubricants", Int32.min)])
    func javaHashCode(_ input: String, _ expected: Int32) {
        #expect(GroupPlacement.javaStringHashCode(input) == expected)
    }

    @Test func placementMapsIntMinToZero() {
        // "polygenelubricants".hashCode() == Int.MIN_VALUE: Utils.abs gives 0.
        #expect(GroupPlacement.partition(for: "polygenelubricants", partitionCount: 50) == 0)
        #expect(GroupPlacement.partition(for: "hello", partitionCount: 50) == 99_162_322 % 50)
    }
}
