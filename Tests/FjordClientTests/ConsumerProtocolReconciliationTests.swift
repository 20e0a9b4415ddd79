import KafkaProtocol
import Testing

@testable import FjordClient

struct ConsumerProtocolReconciliationTests {
    let a = KafkaUUID(high: 1, low: 1), b = KafkaUUID(high: 2, low: 2), unknown = KafkaUUID(high: 3, low: 3)
    var names: [KafkaUUID: String] { [a: "a", b: "b"] }

    @Test func joiningMemberIsAssignedTheWholeTarget() {
        let step = ConsumerProtocolReconciliation(owned: [], target: [a: [0, 1], b: [0]], names: names)
        #expect(step.revoked.isEmpty)
        #expect(step.assigned == [TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)])
        #expect(step.owned == Set(step.assigned))
        #expect(step.unresolved.isEmpty)
    }

    @Test func onlyTheDeltasAreRevokedAndAssigned() {
        let owned: Set = [TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)]
        let step = ConsumerProtocolReconciliation(owned: owned, target: [a: [1, 2], b: [0]], names: names)
        #expect(step.revoked == [TopicPartition("a", 0)])
        #expect(step.assigned == [TopicPartition("a", 2)])
        // The next heartbeat acknowledges the revocation by no longer reporting a-0.
        #expect(step.owned == [TopicPartition("a", 1), TopicPartition("a", 2), TopicPartition("b", 0)])
    }

    @Test func revocationOnlyShrinksWhatIsOwned() {
        let owned: Set = [TopicPartition("a", 0), TopicPartition("a", 1)]
        let step = ConsumerProtocolReconciliation(owned: owned, target: [a: [1]], names: names)
        #expect(step.revoked == [TopicPartition("a", 0)])
        #expect(step.assigned.isEmpty)
        #expect(step.owned == [TopicPartition("a", 1)])
        #expect(ConsumerProtocolReconciliation(owned: owned, target: [:], names: names).revoked == owned.sorted())
    }

    @Test func unchangedTargetIsEmpty() {
        let owned: Set = [TopicPartition("a", 0)]
        let step = ConsumerProtocolReconciliation(owned: owned, target: [a: [0]], names: names)
        #expect(step.isEmpty)
        #expect(step.owned == owned)
    }

    @Test func unknownTopicIDsWaitForMetadata() {
        let step = ConsumerProtocolReconciliation(
            owned: [TopicPartition("a", 0)], target: [a: [0], unknown: [0, 1]], names: names)
        #expect(step.isEmpty)
        #expect(step.unresolved == [unknown])
        #expect(step.owned == [TopicPartition("a", 0)])
        var resolved = names
        resolved[unknown] = "c"
        let later = ConsumerProtocolReconciliation(
            owned: step.owned, target: [a: [0], unknown: [0, 1]], names: resolved)
        #expect(later.assigned == [TopicPartition("c", 0), TopicPartition("c", 1)])
        #expect(later.unresolved.isEmpty)
    }
}
