import KafkaProtocol
import Testing

@testable import FjordClient

struct AssignorTests {
    static func member(_ id: String, _ topics: [String], owned: [TopicPartition] = [], generation: Int32 = -1)
        -> GroupMemberSubscription
    {
        GroupMemberSubscription(memberID: id, topics: topics, ownedPartitions: owned, generationID: generation)
    }

    static func tps(_ topic: String, _ partitions: [Int32]) -> [TopicPartition] {
        partitions.map { TopicPartition(topic, $0) }
    }

    @Test func rangeGivesConsecutiveRangesPerTopic() {
        // Kafka's RangeAssignor example: t0 and t1 with 3 partitions each, two members.
        let result = RangeAssignor().assign(
            members: [Self.member("c1", ["t0", "t1"]), Self.member("c0", ["t0", "t1"])],
            partitionsPerTopic: ["t0": 3, "t1": 3]
        )
        #expect(result["c0"] == Self.tps("t0", [0, 1]) + Self.tps("t1", [0, 1]))
        #expect(result["c1"] == Self.tps("t0", [2]) + Self.tps("t1", [2]))
    }

    @Test func rangeOnlyGivesSubscribedTopics() {
        let result = RangeAssignor().assign(
            members: [Self.member("a", ["t0"]), Self.member("b", ["t0", "t1"])],
            partitionsPerTopic: ["t0": 2, "t1": 2]
        )
        #expect(result["a"] == Self.tps("t0", [0]))
        #expect(result["b"] == Self.tps("t0", [1]) + Self.tps("t1", [0, 1]))
    }

    @Test func roundRobinDealsInTurn() {
        // Kafka's RoundRobinAssignor example: t0, t1 with 3 partitions each, two members.
        let result = RoundRobinAssignor().assign(
            members: [Self.member("c0", ["t0", "t1"]), Self.member("c1", ["t0", "t1"])],
            partitionsPerTopic: ["t0": 3, "t1": 3]
        )
        #expect(result["c0"] == [TopicPartition("t0", 0), TopicPartition("t0", 2), TopicPartition("t1", 1)])
        #expect(result["c1"] == [TopicPartition("t0", 1), TopicPartition("t1", 0), TopicPartition("t1", 2)])
    }

    @Test func cooperativeStickyBalancesAFreshGroup() {
        let result = CooperativeStickyAssignor().assign(
            members: [Self.member("a", ["t"]), Self.member("b", ["t"]), Self.member("c", ["t"])],
            partitionsPerTopic: ["t": 7]
        )
        let counts = result.values.map(\.count).sorted()
        #expect(counts == [2, 2, 3])
        #expect(Set(result.values.flatMap { $0 }) == Set(Self.tps("t", Array(0..<7))))
    }

    @Test func cooperativeStickyKeepsOwnedAndDefersMoves() {
        // Flow: 1. a owns all 4 partitions (generation 1); 2. b joins; 3. a keeps 2 of its partitions and the 2 it
        // must give up are assigned to nobody this round (a revokes them first); 4. next round (a owns 2) b gets them.
        let assignor = CooperativeStickyAssignor()
        let first = assignor.assign(
            members: [
                Self.member("a", ["t"], owned: Self.tps("t", [0, 1, 2, 3]), generation: 1), Self.member("b", ["t"]),
            ],
            partitionsPerTopic: ["t": 4]
        )
        #expect(first["a"]!.count == 2)
        #expect(Set(first["a"]!).isSubset(of: Set(Self.tps("t", [0, 1, 2, 3]))))
        #expect(first["b"] == [])
        let second = assignor.assign(
            members: [
                Self.member("a", ["t"], owned: first["a"]!, generation: 2), Self.member("b", ["t"], generation: 2),
            ],
            partitionsPerTopic: ["t": 4]
        )
        #expect(second["a"] == first["a"])
        #expect(Set(second["b"]!) == Set(Self.tps("t", [0, 1, 2, 3])).subtracting(first["a"]!))
    }

    @Test func cooperativeStickyDropsPartitionsOfUnsubscribedTopics() {
        let result = CooperativeStickyAssignor().assign(
            members: [Self.member("a", ["t"], owned: Self.tps("gone", [0]) + Self.tps("t", [0]), generation: 3)],
            partitionsPerTopic: ["t": 2]
        )
        #expect(result["a"] == Self.tps("t", [0, 1]))
    }

    @Test func consumerProtocolEncodingRoundTrips() {
        var subscription = ConsumerProtocolSubscription()
        subscription.topics = ["a", "b"]
        let bytes = Consumer.versioned(subscription, version: 3)
        #expect(bytes.getInteger(at: 0, as: Int16.self) == 3)
        #expect(Consumer.decodeSubscription(bytes).topics == ["a", "b"])
    }
}
