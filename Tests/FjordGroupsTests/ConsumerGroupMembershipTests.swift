import FjordGroups
import KafkaProtocol
import NIOCore
import Testing

/// Static members, regular-expression subscriptions, and the consumer protocol inside the whole coordinator
/// (commits with member epochs, DeleteGroups, ListGroups, classic/consumer id conflicts). Every scenario also
/// checks that the records written rebuild the same state.
@Suite struct ConsumerGroupMembershipTests {
    @Test func staticMemberRestartKeepsItsAssignmentWithoutANewEpoch() {
        // Flow: 1. static A and dynamic B settle at epoch 2; 2. A leaves with -2 (epoch kept, no rebalance); 3. a new
        // process with A's instance id joins with epoch 0: it gets A's partitions and epoch, the group epoch is
        // unchanged and B's heartbeat sees nothing new.
        var h = ConsumerHarness()
        let a = h.heartbeat(epoch: 0, topics: ["t"], owned: [:], instance: "ia")
        let b = h.join()
        let revoke = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(a))
        let settled = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(revoke))
        let bSettled = h.heartbeat(b.memberID!, epoch: 2, owned: [:])
        #expect(settled.memberEpoch == 2)
        let groupEpoch = h.manager.groups["g"]!.groupEpoch
        let left = h.heartbeat(a.memberID!, epoch: -2, owned: nil, instance: "ia")
        #expect(left.errorCode == 0 && left.memberEpoch == -2)
        #expect(h.manager.groups["g"]!.groupEpoch == groupEpoch)
        let back = h.heartbeat(epoch: 0, topics: ["t"], owned: [:], instance: "ia")
        #expect(back.errorCode == 0)
        #expect(back.memberID != a.memberID)
        #expect(back.memberEpoch == 2)
        #expect(h.owned(back) == h.owned(revoke))
        #expect(h.manager.groups["g"]!.groupEpoch == groupEpoch)
        #expect(h.manager.groups["g"]!.members[a.memberID!] == nil)
        let bAgain = h.heartbeat(b.memberID!, epoch: 2, owned: h.owned(bSettled))
        #expect(bAgain.errorCode == 0 && bAgain.memberEpoch == 2 && bAgain.assignment == nil)
        #expect(h.exclusive())
        #expect(h.replayMatches())
    }

    @Test func instanceIDHeldByALiveMemberIsNotReleased() {
        // Flow: static A is active; a second member joining with A's instance id gets UNRELEASED_INSTANCE_ID.
        var h = ConsumerHarness()
        let a = h.heartbeat(epoch: 0, topics: ["t"], owned: [:], instance: "ia")
        #expect(a.errorCode == 0)
        let twin = h.heartbeat(epoch: 0, topics: ["t"], owned: [:], instance: "ia")
        #expect(twin.errorCode == ErrorCode.unreleasedInstanceID.rawValue)
        #expect(h.manager.groups["g"]!.members.count == 1)
    }

    @Test func staticMemberThatNeverReturnsExpires() {
        // Flow: static A leaves with -2 and does not come back: after its session timeout the tick removes it, the
        // group epoch moves and B's next heartbeat gets every partition.
        var h = ConsumerHarness()
        let a = h.heartbeat(epoch: 0, topics: ["t"], owned: [:], instance: "ia")
        let b = h.join()
        let revoke = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(a))
        _ = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(revoke))
        _ = h.heartbeat(b.memberID!, epoch: 2, owned: [:])
        _ = h.heartbeat(a.memberID!, epoch: -2, owned: nil, instance: "ia")
        let epoch = h.manager.groups["g"]!.groupEpoch
        h.now += 40_000
        _ = h.heartbeat(b.memberID!, epoch: 2, owned: [:])
        h.now += 10_000
        h.tick()
        #expect(h.manager.groups["g"]!.members[a.memberID!] == nil)
        #expect(h.manager.groups["g"]!.groupEpoch == epoch + 1)
        var owned: TopicPartitionSet = [:]
        var memberEpoch: Int32 = 2
        for _ in 0..<2 {
            let r = h.heartbeat(b.memberID!, epoch: memberEpoch, owned: owned)
            if r.assignment != nil { owned = h.owned(r) }
            memberEpoch = r.memberEpoch
        }
        #expect(owned == [h.t: [0, 1, 2, 3]])
        #expect(h.replayMatches())
    }

    @Test func regexSubscriptionFollowsMatchingTopics() {
        // Flow: 1. topics t (4), tx (2), u (1); a member subscribing to "t.*" gets t and tx only; 2. topic t2 is
        // created: the tick bumps the epoch and the next heartbeat adds t2; 3. an invalid expression is refused.
        var h = ConsumerHarness()
        let tx = AssignableTopic(topicID: KafkaUUID(high: 2, low: 2), partitionCount: 2)
        h.topics["tx"] = tx
        h.topics["u"] = AssignableTopic(topicID: KafkaUUID(high: 3, low: 3), partitionCount: 1)
        h.topics["__consumer_offsets"] = AssignableTopic(topicID: KafkaUUID(high: 9, low: 9), partitionCount: 5)
        let m = h.heartbeat(epoch: 0, topics: nil, owned: [:], regex: "t.*")
        #expect(m.errorCode == 0)
        #expect(h.owned(m) == [h.t: [0, 1, 2, 3], tx.topicID: [0, 1]])
        let t2 = AssignableTopic(topicID: KafkaUUID(high: 4, low: 4), partitionCount: 3)
        h.topics["t2"] = t2
        h.tick()
        let grown = h.heartbeat(m.memberID!, epoch: m.memberEpoch, owned: h.owned(m))
        #expect(grown.memberEpoch == m.memberEpoch + 1)
        #expect(h.owned(grown)[t2.topicID] == [0, 1, 2])
        #expect(h.replayMatches())
        let bad = h.heartbeat(epoch: 0, topics: nil, owned: [:], group: "g2", regex: "(unclosed")
        #expect(bad.errorCode == ErrorCode.invalidRegularExpression.rawValue)
        #expect(h.manager.groups["g2"] == nil)
    }

    // MARK: Inside the coordinator

    private static let topic = AssignableTopic(topicID: KafkaUUID(high: 1, low: 1), partitionCount: 2)

    private func heartbeat(
        _ manager: inout GroupManager, group: String = "g", member: String = "", epoch: Int32, owned: [Int32]? = nil,
        id: String = "m1"
    ) -> ConsumerGroupHeartbeatResponse {
        let request = ConsumerGroupHeartbeatRequest(
            groupID: group, memberID: member, memberEpoch: epoch, rebalanceTimeoutMs: epoch == 0 ? 30_000 : -1,
            subscribedTopicNames: epoch == 0 ? ["t"] : nil,
            topicPartitions: epoch == 0 ? [] : owned.map { [.init(topicID: Self.topic.topicID, partitions: $0)] }
        )
        let change = manager.planConsumerHeartbeat(
            request, context: .init(newMemberID: id, topics: ["t": Self.topic], now: 1000))
        for record in change.records { try! manager.replay(key: record.key, value: record.value, now: 1000) }
        manager.applyConsumerChange(change)
        return change.response
    }

    private func commit(_ manager: inout GroupManager, group: String = "g", member: String, epoch: Int32) -> ErrorCode {
        let entry = GroupManager.OffsetCommitEntry(
            partition: TopicPartition("t", 0), offset: 5, leaderEpoch: 0, metadata: nil)
        let result = manager.commitOffsets(
            groupID: group, generationID: epoch, memberID: member, instanceID: nil, entries: [entry], now: 1000
        ) { _ in true }
        for record in result.records { try! manager.replay(key: record.key, value: record.value, now: 1000) }
        return result.answer[0]
    }

    @Test func commitsCheckTheMemberEpoch() {
        // Flow: a member at epoch 1 commits with 1 (ok), 0 (STALE_MEMBER_EPOCH), 2 (FENCED_MEMBER_EPOCH); an unknown
        // member gets UNKNOWN_MEMBER_ID; a simple commit (-1) is refused while the group has members and accepted
        // once it is empty. OffsetFetch from the member checks its epoch too.
        var manager = GroupManager()
        let m = heartbeat(&manager, epoch: 0)
        #expect(m.memberEpoch == 1)
        #expect(commit(&manager, member: "m1", epoch: 1) == .none)
        #expect(manager.offsets["g"]?[TopicPartition("t", 0)]?.offset == 5)
        #expect(commit(&manager, member: "m1", epoch: 0) == .staleMemberEpoch)
        #expect(commit(&manager, member: "m1", epoch: 2) == .fencedMemberEpoch)
        #expect(commit(&manager, member: "ghost", epoch: 1) == .unknownMemberID)
        #expect(commit(&manager, member: "", epoch: -1) == .unknownMemberID)
        #expect(manager.validateOffsetFetch(groupID: "g", memberID: "m1", memberEpoch: 1) == .none)
        #expect(manager.validateOffsetFetch(groupID: "g", memberID: "m1", memberEpoch: 0) == .staleMemberEpoch)
        #expect(manager.validateOffsetFetch(groupID: "g", memberID: nil, memberEpoch: -1) == .none)
        _ = heartbeat(&manager, member: "m1", epoch: -1)
        #expect(commit(&manager, member: "", epoch: -1) == .none)
    }

    @Test func deleteListAndConflictsWithClassicGroups() {
        // Flow: 1. a consumer group with a member is listed as type "consumer", refuses DeleteGroups
        // (NON_EMPTY_GROUP) and a classic JoinGroup (INCONSISTENT_GROUP_PROTOCOL); 2. once empty it is deleted, its
        // tombstones replayed remove it and its offsets; 3. a classic group with members refuses a consumer
        // heartbeat with GROUP_ID_NOT_FOUND.
        var manager = GroupManager()
        _ = heartbeat(&manager, epoch: 0)
        _ = commit(&manager, member: "m1", epoch: 1)
        let listed = manager.listGroups(statesFilter: [], typesFilter: ["consumer"])
        #expect(listed.map(\.groupID) == ["g"])
        #expect(listed.first?.state == "Stable")
        #expect(manager.listGroups(statesFilter: [], typesFilter: ["classic"]).isEmpty)
        #expect(manager.deleteGroups(["g"]).answer == [.nonEmptyGroupError])
        let join = JoinGroupRequest(
            groupID: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: "consumer",
            protocols: [.init(name: "range", metadata: ByteBuffer())]
        )
        let context = JoinContext(
            requestID: 1, version: 9, clientID: "c", clientHost: "/127.0.0.1", newMemberID: "classic-1", now: 1000)
        let joined = manager.join(join, context: context)
        #expect(joined.joinResponses.first?.1.errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)
        _ = heartbeat(&manager, member: "m1", epoch: -1)
        let deletion = manager.deleteGroups(["g"])
        #expect(deletion.answer == [.none])
        for record in deletion.records { try! manager.replay(key: record.key, value: record.value, now: 1000) }
        #expect(manager.consumerGroups.groups["g"] == nil)
        #expect(manager.offsets["g"] == nil)

        var classic = GroupManager()
        let classicJoin = JoinGroupRequest(
            groupID: "c", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberID: "", protocolType: "consumer",
            protocols: [.init(name: "range", metadata: ByteBuffer())]
        )
        _ = classic.join(
            classicJoin,
            context: JoinContext(requestID: 1, version: 3, clientID: "c", clientHost: "/h", newMemberID: "x", now: 1000)
        )
        #expect(!(classic.groups["c"]?.isEmpty ?? true))
        let refused = heartbeat(&classic, group: "c", epoch: 0)
        #expect(refused.errorCode == ErrorCode.groupIDNotFoundError.rawValue)
    }
}
