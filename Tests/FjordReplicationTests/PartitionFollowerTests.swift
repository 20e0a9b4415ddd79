import FjordReplication
import KafkaProtocol
import Testing

@Suite struct PartitionFollowerTests {
    /// A follower's log: epoch 1 from 0, epoch 3 from 8; it ends at 12.
    static let log = Scripted.log(end: 12, highWatermark: 6, epochs: [(1, 0), (3, 8)])

    @Test func truncationOffsetIsKafkas() {
        // Flow: 1. the leader's epoch 3 ended at 10: this log knows epoch 3, truncate to 10; 2. epoch 3 ended at 14
        // there: nothing to cut beyond the log end; 3. the leader answers epoch 2 (this log never had it): truncate to
        // the end of epoch 1 here (8) and ask again; 4. a log wholly of a later epoch: everything; 5. no epochs here:
        // the leader's end; 6. undefined: keep the log.
        func offset(_ epoch: LeaderEpoch, _ end: Int64, log: LocalLogState = Self.log) -> String {
            let result = PartitionFollower.truncationOffset(for: EpochEndOffset(epoch: epoch, endOffset: end), log: log)
            return "\(result.offset)\(result.complete ? "" : " again")"
        }
        #expect(offset(3, 10) == "10")
        #expect(offset(3, 14) == "12")
        #expect(offset(1, 5) == "5")
        #expect(offset(2, 9) == "8 again")
        var late = Self.log
        late.epochs = LeaderEpochHistory(entries: [.init(epoch: 4, startOffset: 0)])
        // Everything here is from epoch 4, which the leader never had (its largest epoch up to 4 is 2): all of it goes.
        #expect(offset(2, 3, log: late) == "0")
        // No epochs here at all: the leader's end.
        late.epochs = LeaderEpochHistory()
        #expect(offset(2, 3, log: late) == "3")
        #expect(offset(-1, -1) == "12")
    }

    @Test func aLeaderChangeThenDivergenceThenCatchUp() {
        // Flow: 1. the new leader (2, epoch 5) is followed from the log end (12, epoch 3); 2. it answers that epoch 3
        // ended at 10 there: truncate to 10; 3. after the truncation the fetch resumes at 10 with epoch 3; 4. records
        // from 10: appended; the high watermark learned is min(the leader's, the log end); 5. an answer to an
        // older fetch is dropped.
        let registration = Scripted.registration(leader: 2, leaderEpoch: 5)
        var follower = PartitionFollower(localID: 1, registration: registration, log: Self.log)
        let first = follower.nextFetch(brokerEpoch: 3)!
        #expect(first.fetchOffset == 12 && first.lastFetchedEpoch == 3 && first.currentLeaderEpoch == 5)
        #expect(first.brokerEpoch == 3)
        let positions = LeaderPositions(highWatermark: 15, logStartOffset: 0, logEndOffset: 20)
        let diverging = FetchAnswer.divergingEpoch(EpochEndOffset(epoch: 3, endOffset: 10), positions)
        #expect(follower.step(.fetchAnswered(diverging, log: Self.log)) == [.truncate(to: 10)])
        var log = Self.log
        log.logEndOffset = 10
        #expect(follower.step(.truncated(log: log)).isEmpty)
        #expect(follower.nextFetch()?.fetchOffset == 10 && follower.highWatermark == 6)
        #expect(follower.step(.fetchAnswered(.records(from: 10, positions), log: log)) == [.appendRecords(from: 10)])
        log.logEndOffset = 13
        log.epochs.assign(epoch: 5, startOffset: 10)
        #expect(follower.step(.appended(log: log, positions: positions)) == [.highWatermarkAdvanced(13)])
        #expect(follower.nextFetch()?.lastFetchedEpoch == 5 && follower.hasFetchedRecords)
        #expect(follower.step(.fetchAnswered(.records(from: 10, positions), log: log)) == [.fetch])
    }

    @Test func errorsBackOffOrResetFromTheLeadersOffsets() {
        var follower = PartitionFollower(
            localID: 1, registration: Scripted.registration(leader: 2), log: Self.log)
        #expect(
            follower.step(.fetchAnswered(.error(.fencedLeaderEpoch), log: Self.log)) == [.backOff(.fencedLeaderEpoch)])
        #expect(follower.step(.fetchAnswered(.error(.offsetOutOfRange), log: Self.log)) == [.askLeaderOffsets])
        #expect(follower.step(.leaderOffsets(logStartOffset: 0, logEndOffset: 9, log: Self.log)) == [.truncate(to: 9)])
        #expect(
            follower.step(.leaderOffsets(logStartOffset: 30, logEndOffset: 40, log: Self.log))
                == [.truncateFully(startAt: 30)])
        #expect(follower.step(.leaderOffsets(logStartOffset: 0, logEndOffset: 40, log: Self.log)) == [.fetch])
        let leaderless = PartitionFollower(
            localID: 1, registration: Scripted.registration(leader: -1), log: Self.log)
        #expect(leaderless.nextFetch() == nil)
    }

    @Test func staleMetadataIsIgnoredAndSameEpochOnlyMovesThePartitionEpoch() {
        var role = ReplicaRole.none
        let configuration = ReplicationConfiguration()
        _ = role.apply(
            Scripted.registration(leader: 2, leaderEpoch: 5), localID: 1, log: Self.log,
            configuration: configuration, now: 0)
        _ = role.apply(
            Scripted.registration(leader: 3, leaderEpoch: 4), localID: 1, log: Self.log,
            configuration: configuration, now: 1)
        #expect(role.leaderEpoch == 5)
        _ = role.apply(
            Scripted.registration(leader: 2, leaderEpoch: 5, partitionEpoch: 12), localID: 1,
            log: Self.log, configuration: configuration, now: 2)
        #expect(role.partitionEpoch == 12)
        _ = role.apply(
            Scripted.registration(leader: 1, leaderEpoch: 6, partitionEpoch: 13), localID: 1,
            log: Self.log, configuration: configuration, now: 3)
        guard case .leader(let leader) = role else {
            Issue.record("expected the leader")
            return
        }
        #expect(leader.epochStartOffset == 12 && leader.epochs.latestEpoch == 6)
        _ = role.apply(
            Scripted.registration(
                leader: 2, leaderEpoch: 7, partitionEpoch: 14, replicas: [2, 3],
                isr: [2, 3]), localID: 1, log: Self.log, configuration: configuration, now: 4)
        guard case .none = role else {
            Issue.record("expected none after the reassignment")
            return
        }
    }
}
