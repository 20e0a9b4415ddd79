import KafkaProtocol

/// A topic as the assignor sees it.
public struct AssignableTopic: Sendable, Equatable {
    public var topicID: KafkaUUID
    public var partitionCount: Int32

    public init(topicID: KafkaUUID, partitionCount: Int32) {
        self.topicID = topicID
        self.partitionCount = partitionCount
    }
}

/// The `uniform` server-side assignor (KIP-848): every partition of a subscribed topic goes to one member subscribed
/// to it, members' counts differ by at most one where subscriptions allow, and a partition stays with its current
/// owner when that keeps the balance (sticky). Deterministic: members and partitions are visited in sorted order.
public enum UniformAssignor {
    public static func assign(
        subscriptions: [String: [String]], topics: [String: AssignableTopic], current: [String: TopicPartitionSet]
    ) -> [String: TopicPartitionSet] {
        let memberIDs = subscriptions.keys.sorted()
        var result = [String: TopicPartitionSet]()
        for id in memberIDs { result[id] = [:] }
        var partitions = [(String, AssignableTopic, Int32)]()
        for name in topics.keys.sorted() {
            guard let topic = topics[name], memberIDs.contains(where: { subscriptions[$0]!.contains(name) }) else {
                continue
            }
            for index in 0..<max(topic.partitionCount, 0) { partitions.append((name, topic, index)) }
        }
        let quota = memberIDs.isEmpty ? 0 : (partitions.count + memberIDs.count - 1) / memberIDs.count
        var counts = [String: Int]()
        var unplaced = [(String, AssignableTopic, Int32)]()
        // Sticky pass: a current owner still subscribed keeps the partition up to the quota.
        for (name, topic, index) in partitions {
            let owner = memberIDs.first { id in
                subscriptions[id]!.contains(name) && current[id]?[topic.topicID]?.contains(index) == true
            }
            if let owner, counts[owner, default: 0] < quota {
                result[owner]![topic.topicID, default: []].insert(index)
                counts[owner, default: 0] += 1
            } else {
                unplaced.append((name, topic, index))
            }
        }
        // The rest to the subscribed member with the fewest partitions (ties by member id).
        for (name, topic, index) in unplaced {
            let candidates = memberIDs.filter { subscriptions[$0]!.contains(name) }
            guard let chosen = candidates.min(by: { (counts[$0, default: 0], $0) < (counts[$1, default: 0], $1) })
            else { continue }
            result[chosen]![topic.topicID, default: []].insert(index)
            counts[chosen, default: 0] += 1
        }
        return result
    }
}
