import FjordRaft
import KafkaProtocol
import NIOCore
import Testing

@Suite struct RaftReplicationTests {
    @Test func aDivergedFollowerTruncatesToTheLeadersEpochEndAndCatchesUp() throws {
        // Flow:
        // 1. Nodes 1 and 3 hold [a b] of epoch 1 and [c] of epoch 3; node 2 holds [a b] of epoch 1 and [x y] of
        //    epoch 2 (written by a leader that lost). All are at epoch 3.
        // 2. Node 2's log is less up to date (epoch 2 < 3), so 1 or 3 wins epoch 4.
        // 3. Node 2 fetches at offset 4 with last epoch 2: the leader answers divergingEpoch (epoch 1, end 2);
        //    node 2 emits truncateLog(2), fetches again, and ends with the leader's log.
        let common = [dataBatch(0, epoch: 1, ["a", "b"])]
        let winner = RaftPersistentState(
            quorumState: QuorumState(leaderEpoch: 3), log: common + [dataBatch(2, epoch: 3, ["c"])])
        let loser = RaftPersistentState(
            quorumState: QuorumState(leaderEpoch: 3), log: common + [dataBatch(2, epoch: 2, ["x", "y"])])
        var cluster = RaftTestCluster(voters: [1, 2, 3], persisted: [1: winner, 2: loser, 3: winner])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        #expect(leader != 2)
        #expect(cluster.nodes[leader]!.role.epoch == 4)
        cluster.run(for: 500)
        let truncations = (cluster.history[2] ?? []).compactMap {
            if case .truncateLog(let offset) = $0 { offset } else { nil }
        }
        #expect(truncations == [2])
        #expect(cluster.nodes[2]!.log == cluster.nodes[leader]!.log)
        // Everything, the old epoch-3 batch included, commits once the epoch-4 LeaderChange does.
        #expect(cluster.nodes[2]!.highWatermark == 4)
        #expect(cluster.committedData(2) == ["a", "b", "c"])
    }

    @Test func aFollowerFetchesAgainOnlyAfterItsAppendIsPersisted() throws {
        // Flow:
        // 1. Three voters elect a leader; appends are no longer persisted automatically.
        // 2. The leader takes a proposal (appended by its next step) and answers the parked fetches with it.
        // 3. Each follower emits appendLog and sends no Fetch until `.persisted` covers the append; then it
        //    fetches from the new end, and the leader's high watermark moves once both followers did.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 100)
        cluster.autoPersist = false
        let end = cluster.nodes[leader]!.logEndOffset
        let result = cluster.nodes[leader]!.propose([ByteBuffer(string: "p")], now: cluster.now)
        #expect(result == .accepted(baseOffset: end, lastOffset: end, epoch: cluster.nodes[leader]!.role.epoch))
        cluster.step(leader, .tick(now: cluster.now))
        cluster.step(leader, .persisted(through: end + 1))
        let followers = [1, 2, 3].filter { $0 != leader }.map { NodeID($0) }
        while cluster.deliverNext() {}
        for follower in followers {
            #expect(cluster.nodes[follower]!.logEndOffset == end + 1)
            #expect(cluster.queued(from: follower) { $0.isFetchRequest }.isEmpty)
        }
        #expect(cluster.nodes[leader]!.highWatermark == end)
        for follower in followers {
            cluster.step(follower, .persisted(through: end + 1))
            let fetches = cluster.queued(from: follower) { $0.isFetchRequest }.compactMap { $0.message.fetchRequest }
            #expect(fetches.map(\.fetchOffset) == [end + 1])
        }
        while cluster.deliverNext() {}
        #expect(cluster.nodes[leader]!.highWatermark == end + 1)
        #expect(cluster.committedData(leader) == ["p"])
    }

    @Test func aFetchOffsetIsDurableEvenAcrossALeaderChange() throws {
        // Flow:
        // 1. Node 2 learns leader 1 of epoch 1 (BeginQuorumEpoch) and fetches at 0; the answer brings [a], which
        //    is appended but not yet persisted.
        // 2. Before the fsync, BeginQuorumEpoch of epoch 2 from node 3 arrives: node 2 follows 3 but sends no Fetch,
        //    because offset 1 is not durable (a leader would count it towards the high watermark).
        // 3. `.persisted(through: 1)` releases the Fetch to node 3 at offset 1 with last epoch 1.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        cluster.autoPersist = false
        func begin(_ leader: NodeID, epoch: Int32, id: Int32) -> RaftMessage {
            .beginQuorumEpochRequest(
                RaftMessage.BeginQuorumEpochRequest(
                    correlationID: id, clusterID: RaftTestCluster.clusterID, voterID: 2,
                    voterDirectoryID: RaftTestCluster.directory(2), leaderID: leader, leaderEpoch: epoch))
        }
        func fetches(_ outputs: [RaftOutput]) -> [(RaftMessage.FetchRequest, NodeID)] {
            outputs.compactMap { if case .send(.fetchRequest(let f), let to) = $0 { (f, to) } else { nil } }
        }
        let first = fetches(cluster.step(2, .received(begin(1, epoch: 1, id: 1), from: 1)))
        let request = try #require(first.first?.0)
        #expect(request.fetchOffset == 0)
        let answer = RaftMessage.fetchResponse(
            RaftMessage.FetchResponse(
                correlationID: request.correlationID, highWatermark: 0, logStartOffset: 0,
                currentLeader: LeaderAndEpoch(leaderID: 1, epoch: 1), batches: [dataBatch(0, epoch: 1, ["a"])]))
        let appended = cluster.step(2, .received(answer, from: 1))
        #expect(appended.contains(.appendLog([dataBatch(0, epoch: 1, ["a"])])))
        #expect(fetches(appended).isEmpty)
        let moved = cluster.step(2, .received(begin(3, epoch: 2, id: 2), from: 3))
        #expect(cluster.nodes[2]!.role.leaderID == 3)
        #expect(fetches(moved).isEmpty)
        let released = fetches(cluster.step(2, .persisted(through: 1)))
        #expect(released.map(\.1) == [3])
        #expect(released.first?.0.fetchOffset == 1)
        #expect(released.first?.0.lastFetchedEpoch == 1)
    }

    @Test func aFollowerOfAnOldEpochIsFencedAndLearnsTheNewLeaderFromTheAnswer() throws {
        // Flow:
        // 1. Node 3 restarts following leader 1 in epoch 1, while node 1 already follows node 2 in epoch 2; node 3
        //    fetches from node 1.
        // 2. Node 1, now a follower of 2 in epoch 2, answers node 3's fetch (current leader epoch 1) with
        //    FENCED_LEADER_EPOCH and currentLeader (2, epoch 2).
        // 3. Node 3 moves to epoch 2 (persisted), follows node 2 and fetches from it.
        let old = RaftPersistentState(quorumState: QuorumState(leaderEpoch: 1, leaderID: 1))
        let current = RaftPersistentState(quorumState: QuorumState(leaderEpoch: 2, leaderID: 2))
        var cluster = RaftTestCluster(voters: [1, 2, 3], persisted: [1: current, 3: old])
        cluster.now = 10
        let fetch = try #require(
            cluster.step(3, .tick(now: cluster.now)).compactMap { output -> RaftMessage.FetchRequest? in
                if case .send(.fetchRequest(let request), 1) = output { request } else { nil }
            }.first)
        #expect(fetch.currentLeaderEpoch == 1)
        let answer = try #require(
            cluster.step(1, .received(.fetchRequest(fetch), from: 3)).compactMap { output -> RaftMessage? in
                if case .send(let message, 3) = output { message } else { nil }
            }.first)
        #expect(answer.fetchResponse?.partitionErrorCode == .fencedLeaderEpoch)
        #expect(answer.fetchResponse?.currentLeader == LeaderAndEpoch(leaderID: 2, epoch: 2))
        let moved = cluster.step(3, .received(answer, from: 1))
        #expect(moved.first == .persistQuorumState(QuorumState(leaderEpoch: 2, leaderID: 2)))
        #expect(cluster.nodes[3]!.role.leaderID == 2)
        #expect(
            moved.contains { if case .send(.fetchRequest(let f), 2) = $0 { f.currentLeaderEpoch == 2 } else { false } })
    }

    @Test func theHighWatermarkWaitsForTheLeaderChangeOfTheNewEpoch() throws {
        // Flow:
        // 1. Node 1 holds [a] of epoch 1, uncommitted; nodes 2 and 3 are empty. Fetches carry one batch each
        //    (fetchMaxBytes 1).
        // 2. Node 1 wins epoch 2 and appends its LeaderChange at offset 1.
        // 3. A follower fetches [a], persists it and fetches at offset 1: a majority now holds offset 1, but the
        //    high watermark stays unset because no record of epoch 2 is covered.
        // 4. Once a follower fetches at offset 2, the high watermark jumps to 2 and [a] commits with it.
        let persisted = RaftPersistentState(
            quorumState: QuorumState(leaderEpoch: 1), log: [dataBatch(0, epoch: 1, ["a"])])
        var cluster = RaftTestCluster(voters: [1, 2, 3], persisted: [1: persisted]) { _, configuration in
            configuration.fetchMaxBytes = 1
        }
        var sawMajorityAtOne = false
        for _ in 0..<2_000 {
            cluster.tick(by: 10)
            while cluster.deliverNext() {
                guard cluster.nodes[1]!.role.name == .leader else { continue }
                let atOne = cluster.history.filter { $0.key != 1 }.contains { _, outputs in
                    outputs.contains {
                        if case .send(.fetchRequest(let f), 1) = $0 { f.fetchOffset == 1 } else { false }
                    }
                }
                if atOne { sawMajorityAtOne = true }
                if let highWatermark = cluster.nodes[1]!.highWatermark { #expect(highWatermark >= 2) }
            }
            if cluster.nodes[1]!.highWatermark != nil { break }
        }
        #expect(sawMajorityAtOne)
        #expect(
            cluster.nodes[1]!.role
                == RaftRoleSummary(
                    name: .leader, epoch: 2, leaderID: 1, votedKey: cluster.configurations[1]!.localKey))
        #expect(cluster.nodes[1]!.highWatermark == 2)
        #expect(cluster.committedData(1) == ["a"])
    }

    @Test func committedBatchesAreHandedOutOnceAndReplayedFromTheSnapshotAfterARestart() throws {
        // Flow:
        // 1. A lone voter leads and commits three proposals [a] [b] [c]: each batch is handed out exactly once.
        // 2. The driver snapshots through [b] (offset 3): the core asks to delete the log before 3.
        // 3. Restarted from quorum state, snapshot and the batches after it, the node leads a new epoch and hands
        //    out [c] again (replay from the snapshot), then its new LeaderChange; never [a] or [b].
        var cluster = RaftTestCluster(voters: [1])
        _ = cluster.runUntilLeader()
        for value in ["a", "b", "c"] {
            _ = cluster.nodes[1]!.propose([ByteBuffer(string: value)], now: cluster.now)
            cluster.tick(by: 1)
        }
        #expect(cluster.committedData(1) == ["a", "b", "c"])
        let offsets = cluster.committed[1]!.map(\.baseOffset)
        #expect(offsets == Array(0..<4))
        let snapshot = RaftSnapshot(
            id: OffsetAndEpoch(offset: 3, epoch: 1), lastContainedLogTimestamp: 0, bytes: ByteBuffer(string: "ab"))
        let outputs = cluster.step(1, .snapshotTaken(snapshot))
        #expect(outputs == [.deleteLogPrefix(before: 3)])
        #expect(cluster.nodes[1]!.logStartOffset == 3)

        let persisted = RaftPersistentState(
            quorumState: cluster.nodes[1]!.quorumState, snapshot: snapshot, log: cluster.nodes[1]!.log)
        cluster.restart(1, persisted: persisted)
        cluster.committed[1] = []
        #expect(cluster.nodes[1]!.highWatermark == 3)
        _ = cluster.runUntilLeader()
        #expect(cluster.nodes[1]!.role.epoch == 2)
        #expect(cluster.committed[1]!.map(\.baseOffset) == [3, 4])
        #expect(cluster.committedData(1) == ["c"])
    }

    @Test func observersFollowWithoutVotingAndAppearInDescribeQuorum() throws {
        // Flow:
        // 1. Voters 1-3 and observer 4. The observer, not knowing the leader, asks random voters; an answer names
        //    the leader and it follows it, committing what the voters commit.
        // 2. DescribeQuorum on the leader lists the three voters and the observer with its log end offset.
        // 3. A Vote request reaching the observer is rejected, and when the leader is cut off the observer never
        //    becomes prospective, candidate or leader.
        var cluster = RaftTestCluster(voters: [1, 2, 3], observers: [4])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 1_000)
        #expect(cluster.nodes[4]!.role.leaderID == leader)
        #expect(cluster.nodes[4]!.isVoter == false)
        #expect(cluster.committed[4]?.count == cluster.committed[leader]?.count)
        let description = cluster.nodes[leader]!.describeQuorum()
        #expect(description.leaderID == leader)
        #expect(description.voters.map(\.key.id) == [1, 2, 3])
        #expect(description.voters.allSatisfy { $0.logEndOffset == cluster.nodes[leader]!.logEndOffset })
        #expect(description.observers.map(\.key.id) == [4])
        #expect(description.observers.first?.logEndOffset == cluster.nodes[4]!.logEndOffset)
        #expect(description.observers.first?.lastCaughtUpTimestamp != nil)

        let vote = RaftMessage.voteRequest(
            RaftMessage.VoteRequest(
                correlationID: 1, clusterID: RaftTestCluster.clusterID, candidateEpoch: 9, candidateID: 2,
                candidateDirectoryID: RaftTestCluster.directory(2), voterID: 4,
                voterDirectoryID: RaftTestCluster.directory(4), lastOffsetEpoch: 9, lastOffset: 100, preVote: false))
        let answer = cluster.step(4, .received(vote, from: 2)).compactMap {
            if case .send(.voteResponse(let response), _) = $0 { response } else { nil }
        }
        #expect(answer.first?.voteGranted == false)
        cluster.isolated = [leader]
        cluster.run(for: 10_000)
        #expect(!cluster.roleNames(4).contains { [.voted, .prospective, .candidate, .leader].contains($0) })
        #expect(cluster.leader != nil)
    }

    @Test(arguments: 0..<12 as Range<UInt64>)
    func anObserverWhoseLeaderIsGoneFindsTheNewLeaderWithoutWaitingOutRequestTimeouts(seed: UInt64) throws {
        // Flow:
        // 1. Voters 1-3 and observer 4 (seeded differently per case); a leader is elected and the observer follows.
        // 2. The leader's process dies: requests to it are refused at once (`.requestFailed`), as on loopback.
        // 3. The voters elect a new leader. The observer, once its fetch timeout passed, asks voters at random; a
        //    refused request ends at once, so it follows the new leader well within one request timeout of the
        //    election (before the fix, a fetch to the dead node waited the whole 2 s request timeout, and a broker
        //    with a short session was fenced meanwhile).
        var cluster = RaftTestCluster(voters: [1, 2, 3], observers: [4], seed: seed)
        let elected = cluster.runUntilLeader()
        let old = try #require(elected)
        cluster.run(for: 500)
        #expect(cluster.nodes[4]!.role.leaderID == old)
        cluster.refusing = [old]
        var electedAt: Int64?
        var followedAt: Int64?
        while cluster.now < 20_000, followedAt == nil {
            cluster.tick(by: 10)
            cluster.deliverAll()
            if electedAt == nil, let leader = cluster.leader, leader != old { electedAt = cluster.now }
            if let leader = cluster.leader, leader != old, cluster.nodes[4]!.role.leaderID == leader {
                followedAt = cluster.now
            }
        }
        let election = try #require(electedAt, "no new leader")
        let followed = try #require(followedAt, "the observer never followed the new leader")
        let requestTimeout = RaftTestCluster.configuration(4, voters: [1, 2, 3]).requestTimeoutMs
        #expect(
            followed - election < requestTimeout / 2, "observer followed \(followed - election) ms after the election")
    }
}
