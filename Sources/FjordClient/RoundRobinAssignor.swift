/// Kafka's `roundrobin` assignor: all partitions of all subscribed topics (sorted) dealt in turn to the sorted
/// members, skipping members not subscribed to a partition's topic.
public struct RoundRobinAssignor: PartitionAssignor {
    public init() {}
    public var name: String { "roundrobin" }
    public var isCooperative: Bool { false }

    public func assign(
        members: [GroupMemberSubscription], partitionsPerTopic: [String: Int]
    ) -> [String: [TopicPartition]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, [TopicPartition]()) })
        let sorted = members.sorted { $0.sortKey < $1.sortKey }
        guard !sorted.isEmpty else { return result }
        let topics = Set(members.flatMap(\.topics)).sorted()
        var cursor = 0
        for topic in topics {
            guard let count = partitionsPerTopic[topic] else { continue }
            for partition in 0..<count {
                // Advance to the next member subscribed to this topic (one exists: the topic came from a member).
                for _ in 0..<sorted.count {
                    let member = sorted[cursor % sorted.count]
                    cursor += 1
                    if member.topics.contains(topic) {
                        result[member.memberID, default: []].append(TopicPartition(topic, Int32(partition)))
                        break
                    }
                }
            }
        }
        return result
    }
}
