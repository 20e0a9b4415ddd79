import FjordReplication
import KafkaProtocol
import Testing

/// Fetch validation, AlterPartition answers and acks=all completion.
@Suite struct PartitionLeaderAnswersTests {
    /// A leader of epoch 5 whose history is 0@0, 2@10, 4@15, 5@20 (log end 20).
    static func leaderWithHistory() -> PartitionLeader {
        PartitionLeader(
            localID: 1, registration: Scripted.registration(),
            log: Scripted.log(end: 20, epochs: [(0, 0), (2, 10), (4, 15)]),
            configuration: ReplicationConfiguration(minInsyncReplicas: 2), now: 0)
    }

    @Test func fetchValidationIsKafkas() {
        // Flow: the follower's current leader epoch older / newer; an unassigned replica; a last fetched epoch that
        // ended earlier here; one this leader never had (epoch 3: answered with epoch 2's end); one newer than any
        // here; a fetch offset past the end; then valid fetches.
        let leader = Self.leaderWithHistory()
        let positions = LeaderPositions(highWatermark: 0, logStartOffset: 0, logEndOffset: 20)
        #expect(leader.validate(Scripted.fetch(2, offset: 20, currentEpoch: 4)) == .error(.fencedLeaderEpoch))
        #expect(leader.validate(Scripted.fetch(2, offset: 20, currentEpoch: 6)) == .error(.unknownLeaderEpoch))
        #expect(leader.validate(Scripted.fetch(9, offset: 20)) == .error(.unknownLeaderEpoch))
        #expect(leader.validate(Scripted.fetch(9, offset: 20, currentEpoch: nil)) == .error(.notLeaderOrFollower))
        #expect(
            leader.validate(Scripted.fetch(2, offset: 17, lastEpoch: 2))
                == .divergingEpoch(EpochEndOffset(epoch: 2, endOffset: 15), positions))
        #expect(
            leader.validate(Scripted.fetch(2, offset: 18, lastEpoch: 3))
                == .divergingEpoch(EpochEndOffset(epoch: 2, endOffset: 15), positions))
        #expect(leader.validate(Scripted.fetch(2, offset: 18, lastEpoch: 7)) == .error(.offsetOutOfRange))
        // An epoch this leader never had, though its records end before the leader's epoch 2 does: still diverging
        // (the follower's offsets 10..<12 are epoch 3's, not epoch 2's).
        #expect(
            leader.validate(Scripted.fetch(2, offset: 12, lastEpoch: 3))
                == .divergingEpoch(EpochEndOffset(epoch: 2, endOffset: 15), positions))
        // Ahead of the leader within its own epoch: diverging at the leader's end; without an epoch: out of range.
        #expect(
            leader.validate(Scripted.fetch(2, offset: 21, lastEpoch: 5))
                == .divergingEpoch(EpochEndOffset(epoch: 5, endOffset: 20), positions))
        #expect(leader.validate(Scripted.fetch(2, offset: 21, lastEpoch: nil)) == .error(.offsetOutOfRange))
        #expect(leader.validate(Scripted.fetch(2, offset: 12, lastEpoch: 2)) == .records(from: 12, positions))
        #expect(leader.validate(Scripted.fetch(2, offset: 0, lastEpoch: nil)) == .records(from: 0, positions))
    }

    @Test func aDivergingFetchDoesNotMoveTheFollower() {
        // Flow: a fetch answered with a diverging epoch records no position: the follower neither counts for the
        // high watermark nor joins the ISR.
        var leader = Self.leaderWithHistory()
        let outputs = leader.fetch(2, offset: 18, now: 1, lastEpoch: 3)
        #expect(outputs.count == 1)
        #expect(leader.followers[2]?.logEndOffset == -1)
    }

    @Test func aFetchFromAnOlderIncarnationIsRefused() {
        var leader = Scripted.leader()
        _ = leader.step(.followerFetch(Scripted.fetch(2, offset: 0, brokerEpoch: 7), now: 1))
        let outputs = leader.step(.followerFetch(Scripted.fetch(2, offset: 0, brokerEpoch: 6), now: 2))
        #expect(outputs.fetchAnswer == .error(.notLeaderOrFollower))
    }

    /// A leader with ISR {1, 2} and an expansion of 3 in flight.
    static func expanding() -> (PartitionLeader, AlterPartitionProposal) {
        var leader = Scripted.leader(isr: [1, 2])
        let proposal = leader.fetch(3, offset: 0, now: 1).proposals[0]
        return (leader, proposal)
    }

    @Test(arguments: [ErrorCode.invalidUpdateVersion, .fencedLeaderEpoch, .newLeaderElected, .invalidRequest])
    func anAnswerThatAwaitsMetadataKeepsTheChangePending(error: ErrorCode) {
        // Flow: 1. the controller refuses with `error`: the expansion stays pending (no new proposal, the high
        // watermark still waits for 3); 2. newer partition metadata ends it.
        var (leader, proposal) = Self.expanding()
        #expect(leader.step(.alterPartitionAnswered(proposal, .rejected(error), now: 2)).isEmpty)
        #expect(leader.isrState.inFlight == proposal)
        #expect(leader.fetch(3, offset: 0, now: 3).proposals.isEmpty)
        _ = leader.step(.partitionChanged(Scripted.registration(partitionEpoch: 12, isr: [1, 2]), now: 4))
        #expect(leader.isrState == .committed(isr: [1, 2]) && leader.partitionEpoch == 12)
        #expect(leader.fetch(3, offset: 0, now: 5).proposals.map(\.partitionEpoch) == [12])
    }

    @Test(arguments: [ErrorCode.ineligibleReplica, .operationNotAttempted])
    func anAnswerThatSaysNotAppliedRevertsToTheCommittedISR(error: ErrorCode) {
        var (leader, proposal) = Self.expanding()
        _ = leader.step(.alterPartitionAnswered(proposal, .rejected(error), now: 2))
        #expect(leader.isrState == .committed(isr: [1, 2]))
        #expect(leader.isrState.maximalISR == [1, 2])
    }

    @Test func otherErrorsAreRetriedAndStaleAnswersIgnored() {
        // Flow: 1. NOT_CONTROLLER: the same proposal goes again; 2. an answer to another proposal, or for another
        // leader epoch, or older than the partition epoch known: ignored; 3. the right answer commits.
        var (leader, proposal) = Self.expanding()
        #expect(
            leader.step(.alterPartitionAnswered(proposal, .rejected(.notController), now: 2)).proposals == [proposal])
        var other = proposal
        other.partitionEpoch = 3
        _ = leader.step(
            .alterPartitionAnswered(
                other, .accepted(leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2, 3]),
                now: 3))
        _ = leader.step(
            .alterPartitionAnswered(
                proposal, .accepted(leaderEpoch: 6, partitionEpoch: 11, isr: [1, 2, 3]),
                now: 3))
        _ = leader.step(
            .alterPartitionAnswered(
                proposal, .accepted(leaderEpoch: 5, partitionEpoch: 9, isr: [1, 2, 3]),
                now: 3))
        #expect(leader.isrState.inFlight == proposal)
        _ = leader.step(
            .alterPartitionAnswered(
                proposal, .accepted(leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2, 3]),
                now: 4))
        #expect(leader.isrState == .committed(isr: [1, 2, 3]) && leader.partitionEpoch == 11)
    }

    @Test func metadataOlderThanTheLeadersIsIgnored() {
        var (leader, proposal) = Self.expanding()
        _ = leader.step(
            .alterPartitionAnswered(
                proposal, .accepted(leaderEpoch: 5, partitionEpoch: 11, isr: [1, 2, 3]),
                now: 2))
        _ = leader.step(.partitionChanged(Scripted.registration(partitionEpoch: 10, isr: [1, 2]), now: 3))
        #expect(leader.isr == [1, 2, 3] && leader.partitionEpoch == 11)
    }

    @Test func acksAllCompletesWhenTheHighWatermarkPassesTheBatch() {
        // Flow: 1. two produces wait for 3 and 6; 2. the followers reach 4: only the first completes; 3. they reach
        // 6: the second; 4. a third waits past its deadline: REQUEST_TIMED_OUT.
        var leader = Scripted.leader()
        leader.append(to: 3, now: 1)
        #expect(leader.step(.awaitAcks(id: 1, requiredOffset: 3, deadline: 1_000, now: 1)).isEmpty)
        leader.append(to: 6, now: 2)
        _ = leader.step(.awaitAcks(id: 2, requiredOffset: 6, deadline: 1_000, now: 2))
        leader.fetch(2, offset: 4, now: 3)
        #expect(leader.fetch(3, offset: 4, now: 3).completions == [1: .none])
        leader.fetch(2, offset: 6, now: 4)
        #expect(leader.fetch(3, offset: 6, now: 4).completions == [2: .none])
        leader.append(to: 7, now: 5)
        _ = leader.step(.awaitAcks(id: 3, requiredOffset: 7, deadline: 100, now: 5))
        #expect(leader.step(.tick(now: 99)).completions.isEmpty)
        #expect(leader.step(.tick(now: 100)).completions == [3: .requestTimedOut])
        #expect(leader.waitingProduces.isEmpty)
    }

    @Test func theISRShrinkingBelowMinWhileWaitingAnswersNotEnoughReplicasAfterAppend() {
        // Flow: 1. ISR {1, 2, 3}, min 2: a produce waits for 5; 2. the controller fences 2 and 3 (ISR {1}): the
        // produce fails with NOT_ENOUGH_REPLICAS_AFTER_APPEND at once, and new acks=all produces are refused.
        var leader = Scripted.leader()
        leader.append(to: 5, now: 1)
        _ = leader.step(.awaitAcks(id: 1, requiredOffset: 5, deadline: 1_000, now: 1))
        let outputs = leader.step(.partitionChanged(Scripted.registration(partitionEpoch: 11, isr: [1]), now: 2))
        #expect(outputs.completions == [1: .notEnoughReplicasAfterAppend])
        #expect(leader.checkProduce(requiredAcks: -1) == .notEnoughReplicas)
    }

    @Test func aProduceAlreadyCommittedButUnderMinISRAnswersNotEnoughReplicasAfterAppend() {
        // Flow: min 2, ISR {1, 2}: the followers reach 5 (HW 5); the ISR shrinks to {1}; a produce appended before
        // the shrink then asks to wait for 5: past the high watermark, but the ISR is too small.
        var leader = Scripted.leader(isr: [1, 2])
        leader.append(to: 5, now: 1)
        leader.fetch(2, offset: 5, now: 2)
        #expect(leader.highWatermark == 5)
        _ = leader.step(.partitionChanged(Scripted.registration(partitionEpoch: 11, isr: [1]), now: 3))
        let outputs = leader.step(.awaitAcks(id: 9, requiredOffset: 5, deadline: 1_000, now: 4))
        #expect(outputs.completions == [9: .notEnoughReplicasAfterAppend])
    }

    @Test func resigningFailsTheWaitingProduces() {
        var leader = Scripted.leader()
        leader.append(to: 5, now: 1)
        _ = leader.step(.awaitAcks(id: 4, requiredOffset: 5, deadline: 1_000, now: 1))
        var role = ReplicaRole.leader(leader)
        let outputs = role.apply(
            Scripted.registration(leader: 2, leaderEpoch: 6, partitionEpoch: 11), localID: 1,
            log: Scripted.log(end: 5, epochs: [(5, 0)]), configuration: ReplicationConfiguration(), now: 2)
        #expect(outputs.completions == [4: .notLeaderOrFollower])
        guard case .follower(let follower) = role else {
            Issue.record("expected a follower, got \(role)")
            return
        }
        #expect(follower.leader == 2 && follower.fetchOffset == 5 && follower.lastFetchedEpoch == 5)
    }
}
