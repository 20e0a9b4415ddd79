import KafkaProtocol

/// The `range` server-side assignor (KIP-848): for each topic, the members subscribed to it (sorted by id) get
/// contiguous ranges of its partitions; the first `count % members` members get one more. Partitions stay with
/// their current owner when that owner's range still contains them, so it is as sticky as ranges allow.
public enum RangeAssignor {
    public static func assign(subscriptions: [String: [String]], topics: [String: AssignableTopic]) -> [String:
        TopicPartitionSet]
    {
        let memberIDs = subscriptions.keys.sorted()
        var result = [String: TopicPartitionSet]()
        for id in memberIDs { result[id] = [:] }
        for name in topics.keys.sorted() {
            guard let topic = topics[name] else { continue }
            let members = memberIDs.filter { subscriptions[$0]!.contains(name) }
            guard !members.isEmpty, topic.partitionCount > 0 else { continue }
            let count = Int(topic.partitionCount)
            let base = count / members.count
            let extra = count % members.count
            var start = 0
            for (index, member) in members.enumerated() {
                let length = base + (index < extra ? 1 : 0)
                if length > 0 { result[member]![topic.topicID] = Set((start..<start + length).map { Int32($0) }) }
                start += length
            }
        }
        return result
    }
}
