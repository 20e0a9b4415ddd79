import FjordReplication
import KafkaProtocol
import Testing

/// Each invariant of the simulation fails on a broken history built by hand (a checker that cannot fail proves
/// nothing), and passes on the same history repaired.
@Suite struct InvariantCheckerTests {
    static func records(_ ids: [UInt64], epoch: LeaderEpoch = 1) -> [LogRecord] {
        ids.map { LogRecord(epoch: epoch, id: $0) }
    }

    static func replica(
        _ id: NodeID, _ records: [LogRecord], highWatermark: Int64, leading: ClusterSnapshot.Leading? = nil,
        following: ClusterSnapshot.Following? = nil, lastPowerLoss: Int64? = nil
    ) -> ClusterSnapshot.Replica {
        ClusterSnapshot.Replica(
            id: id, isLive: true, log: SimulatedLog(records: records, highWatermark: highWatermark),
            highWatermark: highWatermark, leading: leading, following: following, lastPowerLoss: lastPowerLoss)
    }

    static func leading(epoch: LeaderEpoch = 1, isr: Set<NodeID> = [1, 2, 3]) -> ClusterSnapshot.Leading {
        ClusterSnapshot.Leading(epoch: epoch, isr: isr, maximalISR: isr, replicas: [1, 2, 3])
    }

    static func registration(leader: NodeID = 1, isr: [NodeID] = [1, 2, 3]) -> PartitionRegistration {
        PartitionRegistration(leader: leader, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2, 3], isr: isr)
    }

    /// A healthy cluster: leader 1 with [1 2 3 4] committed to 3; 2 has all of it, 3 has [1 2 3].
    static func healthy() -> ClusterSnapshot {
        ClusterSnapshot(
            replicas: [
                replica(1, records([1, 2, 3, 4]), highWatermark: 3, leading: leading()),
                replica(
                    2, records([1, 2, 3, 4]), highWatermark: 3,
                    following: .init(epoch: 1, leader: 1, hasFetchedRecords: true)),
                replica(
                    3, records([1, 2, 3]), highWatermark: 2,
                    following: .init(epoch: 1, leader: 1, hasFetchedRecords: true)),
            ],
            registration: registration())
    }

    static func violation(_ body: () throws(InvariantViolation) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.invariant
        }
    }

    @Test func aHealthyClusterPasses() {
        var checker = InvariantChecker()
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(Self.healthy()) } == nil)
    }

    @Test func isrOutsideTheReplicasOrWithoutTheLeaderFails() {
        var snapshot = Self.healthy()
        snapshot.registration.isr = [1, 2, 9]
        var checker = InvariantChecker()
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == "isrWithinReplicas")
        snapshot.registration = Self.registration(leader: 3, isr: [1, 2])
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == "isrWithinReplicas")
        snapshot = Self.healthy()
        snapshot.replicas[0].leading = Self.leading(isr: [2, 3])
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == "isrWithinReplicas")
    }

    @Test func aHighWatermarkPastTheLogFails() {
        var snapshot = Self.healthy()
        snapshot.replicas[2].highWatermark = 4
        var checker = InvariantChecker()
        #expect(
            Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == "highWatermarkWithinLog")
    }

    @Test func aLeaderHighWatermarkGoingBackFails() {
        // Flow: the leader of epoch 1 at 3, then at 2: fails; the leader of a new epoch may start lower.
        var checker = InvariantChecker()
        var snapshot = Self.healthy()
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == nil)
        snapshot.replicas[0].highWatermark = 2
        snapshot.replicas[1].highWatermark = 2
        #expect(
            Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) }
                == "highWatermarkNeverDecreases")
        snapshot.replicas[0].leading = Self.leading(epoch: 2)
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == nil)
    }

    @Test func anISRMemberDifferingBelowTheHighWatermarkFails() {
        // Flow: 3 (in the ISR) holds record 9 at offset 1, which is below the high watermark 3: fails; out of the ISR
        // it is only a lagging follower that will truncate (its own prefix check aside).
        var snapshot = Self.healthy()
        snapshot.replicas[2].log = SimulatedLog(records: Self.records([1, 9, 3]), highWatermark: 0)
        snapshot.replicas[2].highWatermark = 0
        snapshot.replicas[2].following = nil
        var checker = InvariantChecker()
        #expect(
            Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == "committedPrefixOnISR")
        snapshot.registration = Self.registration(isr: [1, 2])
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == nil)
        // A same-numbered record from another epoch is another record.
        snapshot = Self.healthy()
        snapshot.replicas[2].log = SimulatedLog(records: Self.records([1, 2]) + Self.records([3], epoch: 2))
        snapshot.replicas[2].highWatermark = 0
        snapshot.replicas[2].following = nil
        #expect(
            Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == "committedPrefixOnISR")
    }

    @Test func aFollowerKeepingADivergentSuffixFails() {
        // Flow: 3 has fetched from leader 1 in its epoch but still ends with a record the leader never had (above the
        // high watermark, so only this check sees it); before its first fetch of records it is allowed.
        var snapshot = Self.healthy()
        snapshot.replicas[2].log = SimulatedLog(records: Self.records([1, 2, 3, 7]), highWatermark: 2)
        var checker = InvariantChecker()
        #expect(
            Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == "followerPrefixOfLeader")
        snapshot.replicas[2].following = .init(epoch: 1, leader: 1, hasFetchedRecords: false)
        #expect(Self.violation { () throws(InvariantViolation) in try checker.check(snapshot) } == nil)
    }

    @Test func anAcknowledgedRecordOnNoReplicaFails() throws {
        // Flow: record 4 acknowledged at offset 3 at 10 ms; every replica loses it: fails while an ISR member has not
        // lost power since; excused once every ISR member has.
        var checker = InvariantChecker()
        try checker.acknowledged(LogRecord(epoch: 1, id: 4), at: 3, now: 10)
        var snapshot = Self.healthy()
        #expect(Self.violation { () throws(InvariantViolation) in try checker.checkAcknowledged(snapshot) } == nil)
        snapshot.replicas[0].log = SimulatedLog(records: Self.records([1, 2, 3]))
        snapshot.replicas[1].log = SimulatedLog(records: Self.records([1, 2, 3]))
        #expect(
            Self.violation { () throws(InvariantViolation) in try checker.checkAcknowledged(snapshot) }
                == "acknowledgedRecordsSurvive")
        snapshot.registration = Self.registration(leader: -1, isr: [1, 2])
        snapshot.replicas[0].lastPowerLoss = 20
        snapshot.replicas[1].lastPowerLoss = 5
        #expect(
            Self.violation { () throws(InvariantViolation) in try checker.checkAcknowledged(snapshot) }
                == "acknowledgedRecordsSurvive")
        snapshot.replicas[1].lastPowerLoss = 30
        #expect(Self.violation { () throws(InvariantViolation) in try checker.checkAcknowledged(snapshot) } == nil)
        #expect(checker.excusedLosses == [3])
        // Another record acknowledged at the same offset is a lost acknowledgment too.
        #expect(
            Self.violation { () throws(InvariantViolation) in
                try checker.acknowledged(LogRecord(epoch: 2, id: 8), at: 3, now: 40)
            } == "acknowledgedRecordsSurvive")
    }

    @Test func livenessFailsWhenAHealthyClusterDoesNotAcknowledge() {
        // Flow: healthy from 0; a produce at 50 ms (not settled yet) is not required; one at 150 ms is, and is late
        // at 260 ms; a fault in between would have lifted the requirement.
        var monitor = LivenessMonitor(settleMs: 100, boundMs: 100)
        monitor.update(healthy: true, now: 0)
        monitor.issued(1, now: 50)
        monitor.issued(2, now: 150)
        #expect(Self.violation { () throws(InvariantViolation) in try monitor.check(now: 250) } == nil)
        #expect(
            Self.violation { () throws(InvariantViolation) in try monitor.check(now: 251) } == "livenessWhenHealthy")
        monitor.update(healthy: false, now: 240)
        #expect(Self.violation { () throws(InvariantViolation) in try monitor.check(now: 251) } == nil)
        monitor.update(healthy: true, now: 300)
        #expect(
            Self.violation { () throws(InvariantViolation) in
                try monitor.refused(acksAll: true, "NOT_ENOUGH_REPLICAS", now: 400)
            } == "livenessWhenHealthy")
    }
}
