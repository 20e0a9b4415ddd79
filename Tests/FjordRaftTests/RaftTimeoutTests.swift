import FjordRaft
import KafkaProtocol
import NIOCore
import Testing

@Suite struct RaftTimeoutTests {
    @Test func aLeaderCutOffFromTheMajorityResignsAfterOneAndAHalfFetchTimeouts() throws {
        // Flow:
        // 1. Three voters elect a leader; followers fetch (each fetch parks at most 500 ms, so check-quorum is
        //    renewed at least that often).
        // 2. Both followers are cut off. 2.4 s later (past one fetch timeout, before 1.5) the leader still leads.
        // 3. By 3.01 s (1.5 × the 2 s fetch timeout) it has resigned and queued EndQuorumEpoch for both voters.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 1_000)
        let followers = [1, 2, 3].map { NodeID($0) }.filter { $0 != leader }
        cluster.isolated = Set(followers)
        cluster.run(for: 2_400)
        #expect(cluster.nodes[leader]!.role.name == .leader)
        cluster.run(for: 610)
        #expect(cluster.nodes[leader]!.role.name == .resigned)
        let endRequests = (cluster.history[leader] ?? []).compactMap { output -> NodeID? in
            if case .send(.endQuorumEpochRequest, let to) = output { to } else { nil }
        }
        #expect(Set(endRequests) == Set(followers))
    }

    @Test func aGracefulResignationHandsLeadershipToTheFirstPreferredSuccessor() throws {
        // Flow:
        // 1. Three voters elect a leader and replicate; `.resign` makes it resigned and sends EndQuorumEpoch with
        //    both followers as preferred candidates (equally caught up: lower id first).
        // 2. The first successor's fetch timeout is cut to zero: it is prospective at the next tick, while the
        //    second waits for its longer backoff.
        // 3. The first successor wins the next epoch; the old leader follows it.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 600)
        let epoch = cluster.nodes[leader]!.role.epoch
        cluster.step(leader, .resign)
        #expect(cluster.nodes[leader]!.role.name == .resigned)
        let requests = cluster.queue.compactMap { envelope -> RaftMessage.EndQuorumEpochRequest? in
            if case .endQuorumEpochRequest(let request) = envelope.message { request } else { nil }
        }
        let successors = [1, 2, 3].map { NodeID($0) }.filter { $0 != leader }
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.preferredSuccessors == successors && $0.leaderEpoch == epoch })
        cluster.deliverAll()
        cluster.tick(by: 10)
        #expect(cluster.nodes[successors[0]]!.role.name == .prospective)
        #expect(cluster.nodes[successors[1]]!.role.name == .follower)
        cluster.deliverAll()
        cluster.run(for: 300)
        #expect(cluster.nodes[successors[0]]!.role.name == .leader)
        #expect(cluster.nodes[successors[0]]!.role.epoch == epoch + 1)
        #expect(
            cluster.nodes[leader]!.role
                == RaftRoleSummary(
                    name: .follower, epoch: epoch + 1, leaderID: successors[0], votedKey: nil))
    }

    @Test func unansweredRequestsAreSentAgainAndLateAnswersOfAnOldRoleAreIgnored() throws {
        // Flow:
        // 1. Node 1 goes prospective; both pre-vote requests are lost.
        // 2. Before the request timeout nothing is resent; at the timeout both go again with new correlation ids.
        // 3. Node 2's grant makes node 1 candidate; node 3's pre-vote grant, arriving after that, is ignored (it
        //    answers a request of the prospective, not a Vote): node 1 stays candidate until a real vote arrives.
        var cluster = RaftTestCluster(voters: [1, 2, 3]) { _, configuration in
            configuration.electionTimeoutMs = 5_000
            configuration.requestTimeoutMs = 1_000
        }
        cluster.now = 10_000
        cluster.step(1, .tick(now: cluster.now))
        #expect(cluster.nodes[1]!.role.name == .prospective)
        let first = cluster.queue.compactMap { $0.message.voteRequest }
        #expect(first.count == 2)
        cluster.queue = []
        cluster.step(1, .tick(now: 10_500))
        #expect(cluster.queue.isEmpty)
        cluster.step(1, .tick(now: 11_000))
        let again = cluster.queue.compactMap { $0.message.voteRequest }
        #expect(again.count == 2)
        #expect(again.allSatisfy { $0.preVote && $0.candidateEpoch == 1 })
        #expect(Set(again.map(\.correlationID)).isDisjoint(with: first.map(\.correlationID)))
        cluster.now = 11_000
        // Deliver the pre-votes; keep node 3's answer back.
        while cluster.deliverNext() {
            if cluster.queue.contains(where: { $0.from == 3 }) { break }
        }
        while cluster.queue.contains(where: { $0.from == 2 }) { cluster.deliverNext() }
        let late = cluster.queue.filter { $0.from == 3 && $0.message.voteResponse != nil }
        #expect(late.count == 1)
        #expect(cluster.nodes[1]!.role.name == .candidate)
        cluster.queue.removeAll { $0.from == 3 && $0.message.voteResponse != nil }
        cluster.step(1, .received(late[0].message, from: 3))
        #expect(cluster.nodes[1]!.role.name == .candidate)
        cluster.deliverAll()
        #expect(cluster.nodes[1]!.role.name == .leader)
    }

    @Test func aLateFetchAnswerFromAResignedLeaderDoesNotDelayTheHandover() throws {
        // Flow:
        // 1. Three voters; the leader answers both followers' parked fetches with a new batch, then resigns: its
        //    EndQuorumEpoch requests are queued behind those answers.
        // 2. The network reorders: EndQuorumEpoch arrives first, then the (successful) fetch answers.
        // 3. The late answers neither re-arm the followers' shortened fetch timeout nor count as live contact:
        //    the first successor is prospective at the next tick, the other grants its pre-vote, and a new leader
        //    leads well within one fetch timeout (found by the simulation, scenario seed 7).
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 600)
        let followers = [1, 2, 3].map { NodeID($0) }.filter { $0 != leader }
        _ = cluster.nodes[leader]!.propose([ByteBuffer(string: "late")], now: cluster.now)
        cluster.step(leader, .tick(now: cluster.now))
        let answers = cluster.queue.filter { $0.message.fetchResponse != nil }
        #expect(answers.count == 2)
        cluster.step(leader, .resign)
        let resignedAt = cluster.now
        let ends = cluster.queue.filter { if case .endQuorumEpochRequest = $0.message { true } else { false } }
        cluster.queue = ends + answers
        while cluster.deliverNext() {}
        for follower in followers {
            #expect(cluster.nodes[follower]!.logEndOffset == cluster.nodes[leader]!.logEndOffset)
        }
        cluster.tick(by: 10)
        #expect(cluster.nodes[followers[0]]!.role.name == .prospective)
        cluster.deliverAll()
        cluster.run(for: 300)
        #expect(cluster.nodes[followers[0]]!.role.name == .leader)
        #expect(cluster.now - resignedAt < cluster.configurations[leader]!.fetchTimeoutMs)
    }

    @Test func aVoterStuckAtAHigherEpochIsReachedByThePeriodicBeginQuorumEpoch() throws {
        // Flow:
        // 1. Three voters elect a leader and a follower fetches (so the leader has no BeginQuorumEpoch left to resend).
        // 2. That follower restarts at epoch 9 (as after a candidacy nobody heard): its pre-votes are rejected (the others
        //    have a live leader) and it fences every message of the leader's lower epoch.
        // 3. The leader's periodic BeginQuorumEpoch (every fetch timeout / 2) is answered with epoch 9: the leader
        //    steps down, a leader of an epoch above 9 is elected, and everyone follows it.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        let stuck = [1, 2, 3].map { NodeID($0) }.first { $0 != leader }!
        cluster.run(for: 1_000)
        let stale = RaftPersistentState(
            quorumState: QuorumState(leaderEpoch: 9, votedKey: cluster.configurations[stuck]!.localKey),
            log: cluster.nodes[stuck]!.log)
        cluster.restart(stuck, persisted: stale)
        cluster.run(for: 5_000)
        let next = try #require(cluster.leader)
        #expect(cluster.nodes[next]!.role.epoch > 9)
        #expect(cluster.roleNames(leader).contains(.unattached))
        for id: NodeID in [1, 2, 3] where id != next { #expect(cluster.nodes[id]!.role.leaderID == next) }
        #expect(cluster.nodes[stuck]!.logEndOffset == cluster.nodes[next]!.logEndOffset)
    }
}
