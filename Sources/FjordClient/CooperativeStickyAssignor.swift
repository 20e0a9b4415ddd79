/// Kafka's `cooperative-sticky` assignor: a balanced assignment that keeps each member's owned partitions where it
/// can, made cooperative: a partition moving from one member to another is left out of this round (its owner
/// revokes it, rejoins, and the next round gives it to the new member), so no partition is ever owned twice.
public struct CooperativeStickyAssignor: PartitionAssignor {
    public init() {}
    public var name: String { "cooperative-sticky" }
    public var isCooperative: Bool { true }

    public func assign(
        members: [GroupMemberSubscription], partitionsPerTopic: [String: Int]
    ) -> [String: [TopicPartition]] {
        let sticky = stickyAssignment(members: members, partitionsPerTopic: partitionsPerTopic)
        // Previous owner of each partition (highest generation wins a conflicting claim).
        var owner: [TopicPartition: (String, Int32)] = [:]
        for member in members {
            for partition in member.ownedPartitions {
                if let current = owner[partition], current.1 >= member.generationID { continue }
                owner[partition] = (member.memberID, member.generationID)
            }
        }
        var result: [String: [TopicPartition]] = [:]
        for (memberID, partitions) in sticky {
            result[memberID] = partitions.filter { partition in
                guard let previous = owner[partition]?.0 else { return true }
                return previous == memberID
            }
        }
        return result
    }

    /// The balanced, sticky assignment before the cooperative adjustment.
    func stickyAssignment(
        members: [GroupMemberSubscription], partitionsPerTopic: [String: Int]
    ) -> [String: [TopicPartition]] {
        let sorted = members.sorted { $0.sortKey < $1.sortKey }
        var assignment = Dictionary(uniqueKeysWithValues: sorted.map { ($0.memberID, [TopicPartition]()) })
        let subscriptions = Dictionary(uniqueKeysWithValues: sorted.map { ($0.memberID, Set($0.topics)) })
        var all: [TopicPartition] = []
        for topic in Set(members.flatMap(\.topics)).sorted() {
            for partition in 0..<(partitionsPerTopic[topic] ?? 0) {
                all.append(TopicPartition(topic, Int32(partition)))
            }
        }
        let valid = Set(all)
        // 1. Keep owned partitions that still exist, are still subscribed, and are not claimed twice.
        var claimed: [TopicPartition: (String, Int32)] = [:]
        for member in sorted {
            for partition in member.ownedPartitions
            where valid.contains(partition)
                && subscriptions[member.memberID]!.contains(partition.topic)
            {
                if let current = claimed[partition], current.1 >= member.generationID { continue }
                claimed[partition] = (member.memberID, member.generationID)
            }
        }
        for (partition, (memberID, _)) in claimed { assignment[memberID]!.append(partition) }
        for memberID in assignment.keys { assignment[memberID]!.sort() }
        // 2. Members above the fair share give back their highest partitions.
        let memberCount = max(sorted.count, 1)
        let maxQuota = (all.count + memberCount - 1) / memberCount
        let minQuota = all.count / memberCount
        var extraSlots = maxQuota > minQuota ? all.count % memberCount : 0  // members that may hold maxQuota
        for member in sorted.sorted(by: { assignment[$0.memberID]!.count > assignment[$1.memberID]!.count }) {
            let owned = assignment[member.memberID]!.count
            if owned >= maxQuota && extraSlots > 0 {
                assignment[member.memberID] = Array(assignment[member.memberID]!.prefix(maxQuota))
                extraSlots -= 1
            } else if owned > minQuota {
                assignment[member.memberID] = Array(assignment[member.memberID]!.prefix(minQuota))
            }
        }
        // 3. Deal the unassigned partitions to the eligible member holding the fewest.
        let taken = Set(assignment.values.flatMap { $0 })
        for partition in all where !taken.contains(partition) {
            let candidates = sorted.filter { subscriptions[$0.memberID]!.contains(partition.topic) }
            guard let target = candidates.min(by: { assignment[$0.memberID]!.count < assignment[$1.memberID]!.count })
            else { continue }
            assignment[target.memberID]!.append(partition)
        }
        return assignment
    }
}
