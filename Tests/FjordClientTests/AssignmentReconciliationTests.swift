import Testing

@testable import FjordClient

struct AssignmentReconciliationTests {
    let p0 = TopicPartition("t", 0), p1 = TopicPartition("t", 1), p2 = TopicPartition("t", 2)

    @Test func eagerAnnouncesTheWholeAssignment() {
        let change = AssignmentReconciliation(owned: [], target: [p1, p0], cooperative: false)
        #expect(change == AssignmentReconciliation(owned: [], target: [p0, p1], cooperative: false))
        #expect(change.assigned == [p0, p1])
        #expect(change.revoked.isEmpty)
        #expect(!change.rejoin)
    }

    @Test func cooperativeKeepsWhatStaysAndRejoinsAfterRevoking() {
        // Flow: 1. member owns p0, p1; 2. target is p1, p2; 3. revoke p0 only, announce p2 only, rejoin.
        let change = AssignmentReconciliation(owned: [p0, p1], target: [p1, p2], cooperative: true)
        #expect(change.revoked == [p0])
        #expect(change.assigned == [p2])
        #expect(change.rejoin)
    }

    @Test func cooperativeWithNothingRevokedDoesNotRejoin() {
        let change = AssignmentReconciliation(owned: [p0], target: [p0, p1], cooperative: true)
        #expect(change.revoked.isEmpty)
        #expect(change.assigned == [p1])
        #expect(!change.rejoin)
    }

    @Test func unchangedAssignmentIsANoOp() {
        let change = AssignmentReconciliation(owned: [p0, p1], target: [p0, p1], cooperative: true)
        #expect(change.revoked.isEmpty && change.assigned.isEmpty && !change.rejoin)
    }
}
