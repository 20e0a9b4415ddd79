/// Kafka's `range` assignor: per topic, members subscribed to it (sorted) get consecutive ranges of partitions; the
/// first `partitions % members` members get one extra.
public struct RangeAssignor: PartitionAssignor {
    public init() {}
    public var name: String { "range" }
    public var isCooperative: Bool { false }

    public func assign(
        members: [GroupMemberSubscription], partitionsPerTopic: [String: Int]
    ) -> [String: [TopicPartition]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, [TopicPartition]()) })
        let topics = Set(members.flatMap(\.topics)).sorted()
        for topic in topics {
            guard let count = partitionsPerTopic[topic], count > 0 else { continue }
            let subscribers = members.filter { $0.topics.contains(topic) }.sorted { $0.sortKey < $1.sortKey }
            let perMember = count / subscribers.count
            let extra = count % subscribers.count
            var next = 0
            for (index, member) in subscribers.enumerated() {
                let length = perMember + (index < extra ? 1 : 0)
                for partition in next..<(next + length) {
                    result[member.memberID, default: []].append(TopicPartition(topic, Int32(partition)))
                }
                next += length
            }
        }
        return result
    }
}
