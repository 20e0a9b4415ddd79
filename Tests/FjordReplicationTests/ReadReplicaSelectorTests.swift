import FjordReplication
import KafkaProtocol
import Testing

/// KIP-392's selectors: which replica a consumer is sent to for a fetch offset, given racks, the ISR and each
/// follower's progress as the leader sees it.
@Suite struct ReadReplicaSelectorTests {
    /// Leader 1 of replicas 1, 2, 3 (ISR as given) with its log at 10; followers 2 and 3 fetched at `ends`.
    static func leader(isr: [NodeID] = [1, 2, 3], ends: [NodeID: Int64]) -> PartitionLeader {
        var leader = Scripted.leader(isr: isr, logEnd: 10)
        for (replica, end) in ends.sorted(by: { $0.key < $1.key }) { leader.fetch(replica, offset: end, now: 1) }
        return leader
    }

    static let racks: [NodeID: String] = [1: "a", 2: "b", 3: "b"]

    static func choose(
        _ leader: PartitionLeader, rack: String, offset: Int64 = 5, selector: ReadReplicaSelector = .rackAware
    ) -> NodeID? {
        selector.preferredReadReplica(of: leader, clientRack: rack, fetchOffset: offset, now: 2) { racks[$0] }
    }

    @Test func aConsumerInAFollowersRackIsSentToTheMostCaughtUpOneThere() {
        let leader = Self.leader(ends: [2: 8, 3: 10])
        #expect(Self.choose(leader, rack: "b") == 3)
        // Follower 3 has not reached the fetch offset: 2 is the one that can serve it.
        #expect(Self.choose(Self.leader(ends: [2: 8, 3: 4]), rack: "b") == 2)
    }

    @Test func theLeaderServesItsOwnRackConsumersWithoutARackAndWithTheLeaderSelector() {
        let leader = Self.leader(ends: [2: 10, 3: 10])
        #expect(Self.choose(leader, rack: "a") == nil)
        #expect(Self.choose(leader, rack: "") == nil)
        #expect(Self.choose(leader, rack: "c") == nil)
        #expect(Self.choose(leader, rack: "b", selector: .leader) == nil)
    }

    @Test func aFollowerOutsideTheISROrWithoutTheOffsetIsNeverChosen() {
        // 3 is out of the ISR; 2 is in it but has not fetched up to the offset: the leader serves.
        let leader = Self.leader(isr: [1, 2], ends: [2: 3, 3: 10])
        #expect(Self.choose(leader, rack: "b") == nil)
        #expect(Self.choose(leader, rack: "b", offset: 2) == 2)
    }

    @Test func kafkasClassNamesNameTheSelectors() {
        #expect(
            ReadReplicaSelector(className: "org.apache.kafka.common.replica.RackAwareReplicaSelector") == .rackAware)
        #expect(ReadReplicaSelector(className: "org.apache.kafka.common.replica.LeaderSelector") == .leader)
        #expect(ReadReplicaSelector(className: "com.example.Mine") == nil)
    }
}
