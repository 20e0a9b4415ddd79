import FjordController
import KafkaProtocol
import Testing

/// Partition reassignment (KIP-455) as the controller runs it: the two stages of a move, its completion by the
/// AlterPartition that brings the new replicas into the ISR (with a new leader when the old one leaves), a
/// cancellation, ListPartitionReassignments, and Kafka's errors.
@Suite struct PartitionReassignmentTests {
    /// Brokers 1–4 unfenced; "t" partition 0 on [1, 2, 3].
    static func cluster() -> ControllerHarness {
        var harness = ControllerHarness()
        for id: Int32 in 1...4 { harness.startBroker(id) }
        harness.createTopic("t", assignments: [[1, 2, 3]])
        return harness
    }

    static func reassign(
        _ harness: inout ControllerHarness, _ replicas: [Int32]?, topic: String = "t", partition: Int32 = 0
    )
        -> AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
    {
        let request = AlterPartitionReassignmentsRequest(topics: [
            .init(name: topic, partitions: [.init(partitionIndex: partition, replicas: replicas)])
        ])
        let result = ClusterControl(image: harness.image).alterPartitionReassignments(request)
        harness.commit(result.records)
        return result.response.responses[0].partitions[0]
    }

    static func ongoing(_ harness: ControllerHarness) -> [ListPartitionReassignmentsResponse
        .OngoingPartitionReassignment]
    {
        ClusterControl(image: harness.image).listPartitionReassignments(ListPartitionReassignmentsRequest(topics: nil))
            .topics.flatMap(\.partitions)
    }

    @Test func aMoveAddsTheTargetFirstAndDropsTheOldReplicasOnceTheNewOnesAreInSync() {
        var harness = Self.cluster()
        let before = harness.partition("t", 0)
        // Stage 1: [1, 2, 3] → [2, 3, 4]: 4 is added and catches up, 1 stays until then.
        #expect(Self.reassign(&harness, [2, 3, 4]).errorCode == 0)
        var moving = harness.partition("t", 0)
        #expect(moving.replicas == [2, 3, 4, 1])
        #expect(moving.addingReplicas == [4])
        #expect(moving.removingReplicas == [1])
        #expect(moving.leader == 1 && moving.leaderEpoch == before.leaderEpoch, "nothing left yet: same leader epoch")
        #expect(moving.inSyncReplicas == [1, 2, 3])
        let listed = Self.ongoing(harness)
        #expect(listed.map(\.replicas) == [[2, 3, 4, 1]])
        #expect(listed.map(\.addingReplicas) == [[4]] && listed.map(\.removingReplicas) == [[1]])

        // Stage 2: the leader (1) adds 4 to the ISR; that completes the move and 1 leaves, so 2 leads.
        let request = LeaderElectionTests.alterISRRequest(harness, "t", [1, 2, 3, 4])
        let result = ClusterControl(image: harness.image).alterPartition(request, version: 3)
        #expect(result.response.topics[0].partitions[0].errorCode == ErrorCode.newLeaderElected.rawValue)
        harness.commit(result.records)
        moving = harness.partition("t", 0)
        #expect(moving.replicas == [2, 3, 4])
        #expect(moving.inSyncReplicas == [2, 3, 4])
        #expect(moving.addingReplicas.isEmpty && moving.removingReplicas.isEmpty)
        #expect(moving.leader == 2 && moving.leaderEpoch == before.leaderEpoch + 1)
        #expect(Self.ongoing(harness).isEmpty)
        #expect(harness.replayedFromScratch() == harness.image, "the records replay to the same image")
    }

    @Test func aMoveThatKeepsTheLeaderAnswersTheLeaderWithTheNewEpoch() {
        var harness = Self.cluster()
        #expect(Self.reassign(&harness, [1, 2, 4]).errorCode == 0)
        let request = LeaderElectionTests.alterISRRequest(harness, "t", [1, 2, 3, 4])
        let result = ClusterControl(image: harness.image).alterPartition(request, version: 3)
        let answer = result.response.topics[0].partitions[0]
        #expect(answer.errorCode == 0)
        harness.commit(result.records)
        let after = harness.partition("t", 0)
        #expect(after.replicas == [1, 2, 4] && after.inSyncReplicas == [1, 2, 4] && after.leader == 1)
        #expect(answer.leaderEpoch == after.leaderEpoch && answer.partitionEpoch == after.partitionEpoch)
        #expect(answer.isr == [1, 2, 4])
    }

    @Test func reorderingOrDroppingInSyncReplicasCompletesAtOnce() {
        var harness = Self.cluster()
        let before = harness.partition("t", 0)
        #expect(Self.reassign(&harness, [3, 2, 1]).errorCode == 0)
        var after = harness.partition("t", 0)
        #expect(after.replicas == [3, 2, 1] && !after.isReassigning && after.leader == 1)
        #expect(after.leaderEpoch == before.leaderEpoch, "no replica left: no new leader epoch")

        #expect(Self.reassign(&harness, [3, 2]).errorCode == 0)
        after = harness.partition("t", 0)
        #expect(after.replicas == [3, 2] && after.inSyncReplicas == [2, 3] && !after.isReassigning)
        #expect(after.leader == 3, "the leader left: the first in-sync replica of the target leads")

        #expect(Self.reassign(&harness, [3, 2]).errorCode == 0)
        #expect(harness.partition("t", 0) == after, "the same replicas: nothing written")
    }

    @Test func aCancellationRevertsToTheOriginalReplicas() {
        var harness = Self.cluster()
        #expect(Self.reassign(&harness, [2, 3, 4]).errorCode == 0)
        #expect(Self.reassign(&harness, nil).errorCode == 0)
        let after = harness.partition("t", 0)
        // Kafka's revert keeps the order of the merged list without the replicas being added.
        #expect(after.replicas == [2, 3, 1] && after.inSyncReplicas == [1, 2, 3] && after.leader == 1)
        #expect(!after.isReassigning && Self.ongoing(harness).isEmpty)

        let again = Self.reassign(&harness, nil)
        #expect(again.errorCode == ErrorCode.noReassignmentInProgress.rawValue)
    }

    @Test func aNewTargetReplacesAMoveInProgress() {
        var harness = Self.cluster()
        #expect(Self.reassign(&harness, [2, 3, 4]).errorCode == 0)
        // 4 was being added; the new target drops it again, and 1 stays.
        #expect(Self.reassign(&harness, [1, 2]).errorCode == 0)
        let after = harness.partition("t", 0)
        #expect(after.replicas == [1, 2] && after.inSyncReplicas == [1, 2] && !after.isReassigning)
    }

    @Test func badTargetsAreRefusedWithKafkasErrors() {
        var harness = Self.cluster()
        let invalid = ErrorCode.invalidReplicaAssignment.rawValue
        #expect(Self.reassign(&harness, []).errorCode == invalid)
        #expect(Self.reassign(&harness, [1, 1, 2]).errorCode == invalid)
        let unregistered = Self.reassign(&harness, [1, 2, 9])
        #expect(unregistered.errorCode == invalid)
        #expect(unregistered.errorMessage?.contains("broker 9") == true)
        let unknown = ErrorCode.unknownTopicOrPartition.rawValue
        #expect(Self.reassign(&harness, [1, 2], topic: "nope").errorCode == unknown)
        #expect(Self.reassign(&harness, [1, 2], partition: 7).errorCode == unknown)
        #expect(harness.partition("t", 0).replicas == [1, 2, 3], "nothing changed")
    }
}
