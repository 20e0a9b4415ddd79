import FjordReplication
import KafkaProtocol
import Testing

@Suite struct PartitionLeaderTests {
    @Test func highWatermarkIsTheSmallestLogEndOfTheISRAndNeverDecreases() {
        // Flow: 1. the leader appends to 10: nothing is committed until the followers report; 2. follower 2 at 10,
        // follower 3 at 5: the high watermark is 5; 3. follower 3 at 10: 10; 4. a follower fetching from lower
        // (it truncated) does not move the high watermark back.
        var leader = Scripted.leader()
        #expect(leader.append(to: 10, now: 1).isEmpty)
        #expect(leader.highWatermark == 0)
        leader.fetch(2, offset: 10, now: 2)
        #expect(leader.highWatermark == 0)
        let outputs = leader.fetch(3, offset: 5, now: 3)
        #expect(outputs.contains(.highWatermarkAdvanced(5)))
        #expect(leader.highWatermark == 5)
        // The answer carries the high watermark as of after the fetch.
        if case .records(let from, let positions) = outputs.fetchAnswer {
            #expect(from == 5 && positions.highWatermark == 5 && positions.logEndOffset == 10)
        } else {
            Issue.record("expected records, got \(String(describing: outputs.fetchAnswer))")
        }
        leader.fetch(3, offset: 10, now: 4)
        #expect(leader.highWatermark == 10)
        leader.fetch(2, offset: 7, now: 5)
        #expect(leader.highWatermark == 10)
    }

    @Test func highWatermarkHeldWhileTheISRIsBelowMinInsyncReplicas() {
        // Flow: 1. ISR {1} with min.insync.replicas 2: acks=all is refused before the append, acks=1 is not; 2. the
        // leader appends: the high watermark stays (KIP-966); 3. with min.insync.replicas 1 it would advance at once.
        var leader = Scripted.leader(isr: [1], minISR: 2)
        #expect(leader.checkProduce(requiredAcks: -1) == .notEnoughReplicas)
        #expect(leader.checkProduce(requiredAcks: 1) == .none)
        leader.append(to: 4, now: 1)
        #expect(leader.highWatermark == 0)
        var alone = Scripted.leader(isr: [1], minISR: 1)
        #expect(alone.append(to: 4, now: 1) == [.highWatermarkAdvanced(4)])
        // min.insync.replicas above the replication factor is capped at it.
        let capped = Scripted.leader(isr: [1, 2, 3], minISR: 5)
        #expect(capped.effectiveMinInsyncReplicas == 3 && !capped.isUnderMinISR)
    }

    @Test func aFollowerThatStopsFetchingLeavesTheISRAfterTheLagTime() {
        // Flow: 1. both followers fetch to the end at 0 ms; the leader appends at 100 ms; 2. follower 2 keeps up,
        // follower 3 is silent; at 1000 ms (the lag time after its last catch-up) it is still in; 3. at 1001 ms the
        // leader proposes {1, 2} — the high watermark still waits for 3 while the change is in flight; 4. committed:
        // the high watermark moves to 2's position.
        var leader = Scripted.leader(lagMs: 1_000, logEnd: 0)
        leader.fetch(2, offset: 0, now: 0)
        leader.fetch(3, offset: 0, now: 0)
        leader.append(to: 3, now: 100)
        leader.fetch(2, offset: 3, now: 150)
        #expect(leader.highWatermark == 0)
        #expect(leader.step(.tick(now: 1_000)).proposals.isEmpty)
        let proposals = leader.step(.tick(now: 1_001)).proposals
        #expect(proposals.map(\.isrIDs) == [[1, 2]])
        #expect(proposals.first?.partitionEpoch == 10 && proposals.first?.leaderEpoch == 5)
        #expect(leader.isrState.maximalISR == [1, 2, 3])
        leader.fetch(2, offset: 3, now: 1_002)
        #expect(leader.highWatermark == 0)
        let outputs = leader.step(
            .alterPartitionAnswered(
                proposals[0], .accepted(leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2]),
                now: 1_003))
        #expect(outputs == [.highWatermarkAdvanced(3)])
        #expect(leader.isr == [1, 2] && leader.partitionEpoch == 11)
    }

    @Test func aCaughtUpFollowerOutsideTheISRHoldsTheHighWatermarkOnlyForTheLagTime() {
        // Flow (the unclean-election interop failure): follower 2 fetched to the end at 0 ms, then stopped; the
        // controller took it out of the ISR (its session expired). 1. at 500 ms the leader appends: 2 is outside the
        // ISR but was caught up within the lag time, so the high watermark waits for it (Kafka: it may be about to
        // rejoin); 2. nothing else happens — no fetch, no append; the periodic check after the lag time lets the
        // high watermark pass and answers the waiting acks=all produce.
        var leader = Scripted.leader(isr: [1, 2], minISR: 1, lagMs: 1_000, logEnd: 20)
        leader.fetch(2, offset: 20, now: 0)
        #expect(leader.highWatermark == 20)
        _ = leader.step(.partitionChanged(Scripted.registration(partitionEpoch: 11, isr: [1]), now: 400))
        leader.append(to: 30, now: 500)
        #expect(leader.step(.awaitAcks(id: 7, requiredOffset: 30, deadline: 30_000, now: 500)).isEmpty)
        #expect(leader.highWatermark == 20)
        #expect(leader.step(.tick(now: 1_000)).isEmpty)
        let outputs = leader.step(.tick(now: 1_001))
        #expect(outputs.contains(.highWatermarkAdvanced(30)))
        #expect(outputs.completions == [7: .none])
    }

    @Test func aFencedOrShuttingDownFollowerIsNeitherWaitedForNorProposed() {
        // Flow: as above, but the controller says broker 2 is fenced: 1. the high watermark stops waiting for it at
        // once (Kafka's isReplicaIsrEligible); 2. while fenced, its fetch at the end does not propose it for the ISR
        // (the controller would answer INELIGIBLE_REPLICA); 3. unfenced, the next fetch does.
        var leader = Scripted.leader(isr: [1, 2], minISR: 1, lagMs: 1_000, logEnd: 20)
        leader.fetch(2, offset: 20, now: 0)
        _ = leader.step(.partitionChanged(Scripted.registration(partitionEpoch: 11, isr: [1]), now: 400))
        leader.append(to: 30, now: 500)
        #expect(leader.highWatermark == 20)
        #expect(leader.step(.replicasIneligible([2], now: 501)) == [.highWatermarkAdvanced(30)])
        #expect(leader.fetch(2, offset: 30, now: 600).proposals.isEmpty)
        _ = leader.step(.replicasIneligible([], now: 700))
        #expect(leader.fetch(2, offset: 30, now: 800).proposals.map(\.isrIDs) == [[1, 2]])
    }

    @Test func aFollowerChasingSmallAppendsStaysCaughtUp() {
        // Flow: the leader appends one record before each fetch, so no fetch reaches the end as of its own time; each
        // fetch reaches the end the leader had at the previous fetch, which counts as caught up then (Kafka's
        // lastCaughtUpTime rule), so after many lag times the follower is still in sync.
        var leader = Scripted.leader(lagMs: 100, logEnd: 0)
        leader.fetch(3, offset: 0, now: 0)
        for step in 1...50 {
            let now = Int64(step) * 60
            leader.append(to: Int64(step), now: now)
            leader.fetch(2, offset: Int64(step), now: now)
            leader.fetch(3, offset: Int64(step - 1), now: now + 1)
            #expect(leader.step(.tick(now: now + 2)).proposals.isEmpty)
        }
        #expect(leader.isr == [1, 2, 3])
    }

    @Test func aFollowerJoinsAtTheHighWatermarkAndTheEpochStart() {
        // Flow: 1. leader of epoch 5 taking over at offset 4 with ISR {1, 2}; the high watermark is 4 once 2 fetches
        // there; 2. follower 3 at 2 (below both): no change; 3. the leader appends to 8 and 2 follows: HW 8;
        // 4. 3 reaches 8: an expansion is proposed and the high watermark now waits for 3 too (maximal ISR).
        var leader = PartitionLeader(
            localID: 1, registration: Scripted.registration(isr: [1, 2]),
            log: Scripted.log(end: 4, highWatermark: 0, epochs: [(3, 0)]),
            configuration: ReplicationConfiguration(replicaLagTimeMaxMs: 1_000, minInsyncReplicas: 2), now: 0)
        #expect(leader.epochStartOffset == 4)
        leader.fetch(2, offset: 4, now: 1)
        #expect(leader.highWatermark == 4)
        #expect(leader.fetch(3, offset: 2, now: 2, lastEpoch: 3).proposals.isEmpty)
        leader.append(to: 8, now: 3)
        leader.fetch(2, offset: 8, now: 4)
        #expect(leader.highWatermark == 8)
        let proposals = leader.fetch(3, offset: 8, now: 5).proposals
        #expect(proposals.map(\.isrIDs) == [[1, 2, 3]])
        #expect(leader.isr == [1, 2] && leader.isrState.maximalISR == [1, 2, 3])
        leader.append(to: 9, now: 6)
        leader.fetch(2, offset: 9, now: 7)
        #expect(leader.highWatermark == 8)
    }

    @Test func aFollowerBelowTheEpochStartDoesNotJoin() {
        // Flow: the new leader's epoch starts at 10 but its high watermark is only 6 (learned as follower): follower 3
        // at 8 has reached the high watermark, not the epoch start, so it does not join.
        var leader = PartitionLeader(
            localID: 1, registration: Scripted.registration(isr: [1, 2]),
            log: Scripted.log(end: 10, highWatermark: 6, epochs: [(3, 0)]),
            configuration: ReplicationConfiguration(minInsyncReplicas: 1), now: 0)
        #expect(leader.highWatermark == 6)
        #expect(leader.fetch(3, offset: 8, now: 1, lastEpoch: 3).proposals.isEmpty)
        #expect(leader.fetch(3, offset: 10, now: 2, lastEpoch: 3).proposals.count == 1)
    }

    @Test func atMostOneAlterPartitionInFlight() {
        // Flow: an expansion in flight; follower 2 falls behind long enough: no shrink is proposed until the
        // expansion is answered.
        var leader = Scripted.leader(isr: [1, 2], lagMs: 100)
        leader.fetch(2, offset: 0, now: 0)
        #expect(leader.fetch(3, offset: 0, now: 0).proposals.count == 1)
        leader.append(to: 5, now: 10)
        #expect(leader.step(.tick(now: 500)).proposals.isEmpty)
        let proposal = leader.isrState.inFlight!
        _ = leader.step(
            .alterPartitionAnswered(
                proposal, .accepted(leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2, 3]),
                now: 501))
        #expect(leader.step(.tick(now: 502)).proposals.map(\.isrIDs) == [[1]])
    }
}
