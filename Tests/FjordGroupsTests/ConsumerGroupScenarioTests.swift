import FjordGroups
import FjordTestSupport
import KafkaProtocol
import NIOCore
import Testing

/// A scripted driver for the consumer protocol: topics, a clock, and clients that report what they own.
struct ConsumerHarness {
    var manager = ConsumerGroupManager()
    var now: Int64 = 1_000_000
    var topics: [String: AssignableTopic] = [
        "t": AssignableTopic(topicID: KafkaUUID(high: 1, low: 1), partitionCount: 4)
    ]
    var nextID = 0
    /// Every record the manager asked to append, in order: replaying them must rebuild its state.
    var records: [GroupRecord] = []

    var t: KafkaUUID { topics["t"]!.topicID }

    mutating func heartbeat(
        _ member: String = "", epoch: Int32, topics names: [String]? = nil, owned: TopicPartitionSet? = nil,
        group: String = "g", assignor: String? = nil, instance: String? = nil, regex: String? = nil
    ) -> ConsumerGroupHeartbeatResponse {
        nextID += 1
        let request = ConsumerGroupHeartbeatRequest(
            groupID: group, memberID: member, memberEpoch: epoch, instanceID: instance,
            rebalanceTimeoutMs: epoch == 0 ? 30_000 : -1,
            subscribedTopicNames: names, subscribedTopicRegex: regex, serverAssignor: assignor,
            topicPartitions: owned.map { set in set.map { .init(topicID: $0.key, partitions: $0.value.sorted()) } }
        )
        let context = ConsumerGroupManager.HeartbeatContext(newMemberID: "m\(nextID)", topics: topics, now: now)
        let change = manager.planHeartbeat(request, context: context)
        records += change.records
        manager.apply(change)
        return change.response
    }

    mutating func tick() {
        let change = manager.planTick(now: now, topics: topics)
        records += change.records
        manager.apply(change)
    }

    /// The groups as replaying `records` into a new manager rebuilds them, deadlines left out.
    func replayed() throws -> [String: ConsumerGroup] {
        var fresh = ConsumerGroupManager()
        for record in records {
            var key = record.key
            let version = key.readInteger(as: Int16.self)!
            try fresh.replay(keyVersion: version, key: &key, value: record.value, now: 0)
        }
        return fresh.groups
    }

    /// Whether the manager's state equals what its records rebuild (deadlines aside).
    func replayMatches() -> Bool {
        guard let rebuilt = try? replayed() else { return false }
        return normalized(rebuilt) == normalized(manager.groups)
    }

    private struct Snapshot: Equatable {
        var groupEpoch: Int32
        var assignmentEpoch: Int32
        var subscribedTopics: [String: AssignableTopic]
        var targetAssignment: [String: TopicPartitionSet]
        var members: [String: ConsumerGroupMember]
    }

    private func normalized(_ groups: [String: ConsumerGroup]) -> [String: Snapshot] {
        groups.mapValues { group in
            Snapshot(
                groupEpoch: group.groupEpoch, assignmentEpoch: group.assignmentEpoch,
                subscribedTopics: group.subscribedTopics,
                targetAssignment: group.targetAssignment,
                members: group.members.mapValues { member in
                    var member = member
                    member.heartbeatDeadline = 0
                    member.revocationDeadline = nil
                    return member
                }
            )
        }
    }

    mutating func join(group: String = "g", assignor: String? = nil) -> ConsumerGroupHeartbeatResponse {
        heartbeat(epoch: 0, topics: ["t"], owned: [:], group: group, assignor: assignor)
    }

    func owned(_ response: ConsumerGroupHeartbeatResponse) -> TopicPartitionSet {
        var set = TopicPartitionSet()
        for topic in response.assignment?.topicPartitions ?? [] {
            set[topic.topicID, default: []].formUnion(topic.partitions)
        }
        return set
    }

    /// No partition is assigned to, or pending revocation from, two members at once.
    func exclusive(_ group: String = "g") -> Bool {
        var seen = Set<String>()
        for member in manager.groups[group]?.members.values.map({ $0 }) ?? [] {
            for (topic, partitions) in member.assigned.merging(
                member.pendingRevocation, uniquingKeysWith: { $0.union($1) })
            {
                for partition in partitions where !seen.insert("\(topic)-\(partition)").inserted { return false }
            }
        }
        return true
    }
}

@Suite struct ConsumerGroupScenarioTests {
    @Test func firstMemberGetsEveryPartition() {
        // Flow: 1. a member joins with epoch 0 and gets an id, epoch 1 and all four partitions; 2. a heartbeat at
        // epoch 1 owning them changes nothing and carries no assignment.
        var h = ConsumerHarness()
        let joined = h.join()
        #expect(joined.errorCode == 0)
        #expect(joined.memberEpoch == 1)
        #expect(h.owned(joined) == [h.t: [0, 1, 2, 3]])
        let again = h.heartbeat(joined.memberID!, epoch: 1, owned: h.owned(joined))
        #expect(again.errorCode == 0 && again.memberEpoch == 1 && again.assignment == nil)
    }

    @Test func secondMemberWaitsUntilTheFirstReleases() {
        // Flow: 1. A owns all four at epoch 1; 2. B joins: epoch 2, nothing yet (A still holds its target);
        // 3. A's heartbeat is told to keep two (epoch stays 1); 4. A's heartbeat without the two advances it to
        // epoch 2; 5. B's next heartbeat gets the released two. No partition is ever held twice.
        var h = ConsumerHarness()
        let a = h.join()
        let aID = a.memberID!
        let b = h.join()
        let bID = b.memberID!
        #expect(b.memberEpoch == 2)
        #expect(h.owned(b).isEmpty)
        #expect(h.exclusive())
        let revoke = h.heartbeat(aID, epoch: 1, owned: h.owned(a))
        #expect(revoke.memberEpoch == 1)
        let kept = h.owned(revoke)
        #expect(kept.partitionCount == 2)
        #expect(h.exclusive())
        let bStill = h.heartbeat(bID, epoch: 2, owned: [:])
        #expect(h.owned(bStill).isEmpty)
        let advanced = h.heartbeat(aID, epoch: 1, owned: kept)
        #expect(advanced.memberEpoch == 2)
        let bGets = h.heartbeat(bID, epoch: 2, owned: [:])
        #expect(h.owned(bGets).partitionCount == 2)
        #expect(h.owned(bGets).intersection(kept).isEmpty)
        #expect(h.exclusive())
    }

    @Test func fencingUnknownMembersAndLeaving() {
        // Flow: 1. A and B settle; 2. a stale epoch is FENCED_MEMBER_EPOCH, an unknown id UNKNOWN_MEMBER_ID; 3. B
        // leaves (epoch -1): A's next heartbeat gets all four at a new epoch.
        var h = ConsumerHarness()
        let a = h.join()
        let b = h.join()
        let aID = a.memberID!
        let bID = b.memberID!
        let revoke = h.heartbeat(aID, epoch: 1, owned: h.owned(a))
        _ = h.heartbeat(aID, epoch: 1, owned: h.owned(revoke))
        _ = h.heartbeat(bID, epoch: 2, owned: [:])
        #expect(h.heartbeat(aID, epoch: 7, owned: [:]).errorCode == ErrorCode.fencedMemberEpoch.rawValue)
        #expect(h.heartbeat("ghost", epoch: 2, owned: [:]).errorCode == ErrorCode.unknownMemberID.rawValue)
        #expect(h.heartbeat(bID, epoch: -1).memberEpoch == -1)
        let all = h.heartbeat(aID, epoch: 2, owned: h.owned(revoke))
        #expect(all.memberEpoch == 3)
        #expect(h.owned(all) == [h.t: [0, 1, 2, 3]])
    }

    @Test func sessionExpiryFreesPartitions() {
        // Flow: 1. A and B settle; 2. only A heartbeats past B's session timeout; 3. B is removed and A gets all four.
        var h = ConsumerHarness()
        let a = h.join()
        let b = h.join()
        let revoke = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(a))
        _ = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(revoke))
        _ = h.heartbeat(b.memberID!, epoch: 2, owned: [:])
        h.now += 30_000
        _ = h.heartbeat(a.memberID!, epoch: 2, owned: h.owned(revoke))
        h.now += 16_000
        h.tick()
        #expect(h.manager.groups["g"]?.members[a.memberID!] != nil)
        #expect(h.manager.groups["g"]?.members[b.memberID!] == nil)
        let all = h.heartbeat(a.memberID!, epoch: 2, owned: h.owned(revoke))
        #expect(h.owned(all) == [h.t: [0, 1, 2, 3]])
    }

    @Test func invalidRequests() {
        // Flow: each malformed heartbeat gets Kafka's error and creates no group.
        var h = ConsumerHarness()
        #expect(
            h.heartbeat(epoch: 0, topics: ["t"], owned: [:], group: "").errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.heartbeat(epoch: 0, topics: nil, owned: [:]).errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(
            h.heartbeat(epoch: 0, topics: ["t"], owned: [:], assignor: "sticky").errorCode
                == ErrorCode.unsupportedAssignor.rawValue)
        #expect(h.heartbeat(epoch: 3, topics: ["t"]).errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.manager.groups.isEmpty)
    }

    @Test func rangeAssignorGivesContiguousRanges() {
        // Flow: 1. three members subscribed to a 7-partition topic get 3, 2 and 2 contiguous partitions; 2. a member
        // not subscribed to a topic gets none of it.
        let t = AssignableTopic(topicID: KafkaUUID(high: 0, low: 7), partitionCount: 7)
        let u = AssignableTopic(topicID: KafkaUUID(high: 0, low: 8), partitionCount: 2)
        let result = RangeAssignor.assign(
            subscriptions: ["a": ["t"], "b": ["t"], "c": ["t", "u"]], topics: ["t": t, "u": u])
        #expect(result["a"] == [t.topicID: [0, 1, 2]])
        #expect(result["b"] == [t.topicID: [3, 4]])
        #expect(result["c"] == [t.topicID: [5, 6], u.topicID: [0, 1]])
    }

    @Test func membersAskingForRangeGetRanges() {
        // Flow: 1. A and B join asking for `range`; 2. after A releases, A holds 0-1 and B 2-3.
        var h = ConsumerHarness()
        let a = h.join(assignor: "range")
        let b = h.join(assignor: "range")
        let revoke = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(a))
        #expect(h.owned(revoke) == [h.t: [0, 1]])
        _ = h.heartbeat(a.memberID!, epoch: 1, owned: h.owned(revoke))
        let bGets = h.heartbeat(b.memberID!, epoch: 2, owned: [:])
        #expect(h.owned(bGets) == [h.t: [2, 3]])
    }

    @Test(arguments: 0..<20, [nil, "range"])
    func randomMembershipKeepsPartitionsExclusive(seed: Int, assignor: String?) {
        // Flow: members join, heartbeat (releasing what they are told to), leave and expire in a seeded order;
        // after every step no partition is held by two members, and once everyone has heartbeated twice without
        // changes every partition is assigned.
        var h = ConsumerHarness()
        h.topics["t"]!.partitionCount = 7
        var generator = SeededGenerator(seed: UInt64(seed))
        var clients: [String: (epoch: Int32, owned: TopicPartitionSet)] = [:]
        for step in 0..<200 {
            let roll = generator.next() % 10
            if roll < 2 || clients.isEmpty {
                let r = h.join(assignor: assignor)
                clients[r.memberID!] = (r.memberEpoch, h.owned(r))
            } else if roll == 2, clients.count > 1 {
                let id = clients.keys.sorted()[Int(generator.next() % UInt64(clients.count))]
                _ = h.heartbeat(id, epoch: -1)
                clients[id] = nil
            } else {
                let id = clients.keys.sorted()[Int(generator.next() % UInt64(clients.count))]
                let client = clients[id]!
                let r = h.heartbeat(id, epoch: client.epoch, owned: client.owned)
                #expect(r.errorCode == 0, "seed \(seed)")
                clients[id] = (r.memberEpoch, r.assignment == nil ? client.owned : h.owned(r))
            }
            #expect(h.exclusive(), "seed \(seed)")
            // Replaying every record so far is quadratic: every 25 steps is enough.
            if step % 25 == 0 { #expect(h.replayMatches(), "seed \(seed) step \(step)") }
        }
        for _ in 0..<3 {
            for id in clients.keys.sorted() {
                let client = clients[id]!
                let r = h.heartbeat(id, epoch: client.epoch, owned: client.owned)
                clients[id] = (r.memberEpoch, r.assignment == nil ? client.owned : h.owned(r))
            }
        }
        let total = clients.values.reduce(0) { $0 + $1.owned.partitionCount }
        #expect(total == 7, "seed \(seed)")
        #expect(h.exclusive(), "seed \(seed)")
        #expect(h.replayMatches(), "seed \(seed)")
    }
}
