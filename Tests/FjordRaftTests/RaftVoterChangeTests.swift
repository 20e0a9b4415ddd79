import FjordRaft
import KafkaProtocol
import NIOCore
import Testing

@Suite struct RaftVoterChangeTests {
    private static let admin: NodeID = 99

    private func answers(_ cluster: RaftTestCluster, to node: NodeID) -> [RaftMessage] {
        cluster.history.values.flatMap { $0 }.compactMap { output -> RaftMessage? in
            if case .send(let message, let to) = output, to == node, !message.isRequest { message } else { nil }
        }
    }

    @Test func aCaughtUpObserverIsAddedAsAVoterAndThenCountsTowardsTheMajority() throws {
        // Flow:
        // 1. Voters 1-3 and observer 4; a leader is elected and 4 catches up.
        // 2. AddRaftVoter(4): the leader appends a VotersRecord (with kraft.version 1) and answers only once it
        //    commits; a second change meanwhile is REQUEST_TIMED_OUT (one at a time); adding 4 again afterwards
        //    is DUPLICATE_VOTER.
        // 3. Every node now has voters [1, 2, 3, 4]; node 4 is a voter.
        // 4. With the old leader cut off, the three others (4 of them needed: a majority of 4 is 3) elect a leader
        //    and commit a proposal.
        var cluster = RaftTestCluster(voters: [1, 2, 3], observers: [4])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 1_000)
        let add = RaftMessage.addRaftVoterRequest(
            RaftMessage.AddRaftVoterRequest(
                correlationID: 1, clusterID: RaftTestCluster.clusterID, timeoutMs: 30_000, voterID: 4,
                voterDirectoryID: RaftTestCluster.directory(4), listeners: []))
        let immediate = cluster.step(leader, .received(add, from: Self.admin))
        #expect(!immediate.contains { if case .send(_, Self.admin) = $0 { true } else { false } })
        #expect(cluster.nodes[leader]!.voters.map(\.id) == [1, 2, 3, 4])
        let remove = RaftMessage.removeRaftVoterRequest(
            RaftMessage.RemoveRaftVoterRequest(
                correlationID: 2, clusterID: RaftTestCluster.clusterID, voterID: 3,
                voterDirectoryID: RaftTestCluster.directory(3)))
        let blocked = cluster.step(leader, .received(remove, from: Self.admin))
        #expect(
            blocked == [
                .send(
                    .removeRaftVoterResponse(.init(correlationID: 2, errorCode: .requestTimedOut)),
                    to: Self.admin)
            ])
        cluster.run(for: 1_000)
        #expect(
            answers(cluster, to: Self.admin).contains(.addRaftVoterResponse(.init(correlationID: 1, errorCode: .none))))
        let again = cluster.step(leader, .received(add, from: Self.admin))
        #expect(
            again == [
                .send(
                    .addRaftVoterResponse(.init(correlationID: 1, errorCode: .duplicateVoter)),
                    to: Self.admin)
            ])
        for id: NodeID in [1, 2, 3, 4] { #expect(cluster.nodes[id]!.voters.map(\.id) == [1, 2, 3, 4]) }
        #expect(cluster.nodes[4]!.isVoter)

        cluster.isolated = [leader]
        cluster.run(for: 10_000)
        let next = try #require(cluster.leader)
        #expect(next != leader)
        #expect(cluster.nodes[next]!.describeQuorum().voters.map(\.key.id) == [1, 2, 3, 4])
        let result = cluster.nodes[next]!.propose([ByteBuffer(string: "with four")], now: cluster.now)
        guard case .accepted(_, let last, _) = result else {
            Issue.record("proposal: \(result)")
            return
        }
        cluster.run(for: 500)
        #expect(cluster.nodes[next]!.highWatermark ?? 0 > last)
    }

    @Test func aLeaderThatRemovesItselfResignsOnceTheChangeCommitsAndBecomesAnObserver() throws {
        // Flow:
        // 1. Voters 1-3 elect a leader; RemoveRaftVoter(leader) is appended: from then on the leader's own log no
        //    longer counts, so the two others must both fetch it to commit.
        // 2. Once committed, the answer goes out and the leader resigns; the other two elect a leader of a later
        //    epoch, and the old leader follows it as an observer (voters [the two others] everywhere).
        // 3. Removing an unknown voter is VOTER_NOT_FOUND; a non-leader answers NOT_LEADER_OR_FOLLOWER.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 500)
        let epoch = cluster.nodes[leader]!.role.epoch
        let others = [1, 2, 3].map { NodeID($0) }.filter { $0 != leader }
        let remove = RaftMessage.removeRaftVoterRequest(
            RaftMessage.RemoveRaftVoterRequest(
                correlationID: 5, clusterID: RaftTestCluster.clusterID, voterID: leader,
                voterDirectoryID: RaftTestCluster.directory(leader)))
        cluster.step(leader, .received(remove, from: Self.admin))
        #expect(cluster.nodes[leader]!.isVoter == false)
        #expect(cluster.nodes[leader]!.role.name == .leader)
        cluster.run(for: 5_000)
        #expect(
            answers(cluster, to: Self.admin).contains(
                .removeRaftVoterResponse(.init(correlationID: 5, errorCode: .none))))
        #expect(cluster.roleNames(leader).contains(.resigned))
        let next = try #require(cluster.leader)
        #expect(others.contains(next))
        #expect(cluster.nodes[next]!.role.epoch > epoch)
        #expect(cluster.nodes[leader]!.role.name == .follower)
        #expect(cluster.nodes[leader]!.role.leaderID == next)
        for id: NodeID in [1, 2, 3] { #expect(cluster.nodes[id]!.voters.map(\.id) == others) }

        let unknown = RaftMessage.removeRaftVoterRequest(
            RaftMessage.RemoveRaftVoterRequest(
                correlationID: 6, clusterID: RaftTestCluster.clusterID, voterID: 7,
                voterDirectoryID: RaftTestCluster.directory(7)))
        #expect(
            cluster.step(next, .received(unknown, from: Self.admin))
                == [.send(.removeRaftVoterResponse(.init(correlationID: 6, errorCode: .voterNotFound)), to: Self.admin)]
        )
        #expect(
            cluster.step(leader, .received(unknown, from: Self.admin))
                == [
                    .send(
                        .removeRaftVoterResponse(.init(correlationID: 6, errorCode: .notLeaderOrFollower)),
                        to: Self.admin)
                ])
    }

    @Test func aVoterUpdatesItsEndpointsThroughTheLeader() throws {
        // Flow:
        // 1. Voters 1-3 elect a leader; UpdateRaftVoter for a follower with a stale epoch is FENCED_LEADER_EPOCH.
        // 2. With the current epoch it appends a VotersRecord carrying the new endpoint and answers with the
        //    leader once that commits; every node's voter set is unchanged in membership.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 500)
        let epoch = cluster.nodes[leader]!.role.epoch
        let voter = [1, 2, 3].map { NodeID($0) }.first { $0 != leader }!
        let endpoint = VotersRecord.Endpoint(name: "CONTROLLER", host: "node\(voter)", port: 9093)
        func update(epoch: Int32, id: Int32) -> RaftMessage {
            .updateRaftVoterRequest(
                RaftMessage.UpdateRaftVoterRequest(
                    correlationID: id, clusterID: RaftTestCluster.clusterID, currentLeaderEpoch: epoch,
                    voterID: voter, voterDirectoryID: RaftTestCluster.directory(voter), listeners: [endpoint],
                    kRaftVersionFeature: VotersRecord.KRaftVersionFeature(
                        minSupportedVersion: 0, maxSupportedVersion: 1)))
        }
        let fenced = cluster.step(leader, .received(update(epoch: epoch - 1, id: 1), from: voter))
        #expect(
            fenced == [
                .send(
                    .updateRaftVoterResponse(
                        .init(
                            correlationID: 1, errorCode: .fencedLeaderEpoch,
                            currentLeader: LeaderAndEpoch(leaderID: leader, epoch: epoch))), to: voter)
            ])
        cluster.step(leader, .received(update(epoch: epoch, id: 2), from: voter))
        cluster.run(for: 1_000)
        #expect(
            answers(cluster, to: voter).contains(
                .updateRaftVoterResponse(
                    .init(
                        correlationID: 2, errorCode: .none,
                        currentLeader: LeaderAndEpoch(leaderID: leader, epoch: epoch)))))
        let records = cluster.nodes[leader]!.committedLog.flatMap(\.records).compactMap { record -> VotersRecord? in
            if case .voters(let voters) = record { voters } else { nil }
        }
        #expect(records.last?.voters.first { $0.voterID == voter }?.endpoints == [endpoint])
        for id: NodeID in [1, 2, 3] { #expect(cluster.nodes[id]!.voters.map(\.id) == [1, 2, 3]) }
    }

    @Test func aSnapshotThatCoversAVoterChangeCarriesTheVoterSetToAFollowerThatFetchesIt() throws {
        // Flow:
        // 1. Voters 1-3, observers 4 and 5 (5 cut off). A leader adds 4 as a voter; the change commits.
        // 2. The leader's driver snapshots past the VotersRecord: the core keeps the voter set with the snapshot.
        // 3. Node 5 reconnects, installs the snapshot through FetchSnapshot and knows voters [1, 2, 3, 4] although
        //    no VotersRecord is left in the log it fetched.
        var cluster = RaftTestCluster(voters: [1, 2, 3], observers: [4, 5])
        cluster.isolated = [5]
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        cluster.run(for: 1_000)
        let add = RaftMessage.addRaftVoterRequest(
            RaftMessage.AddRaftVoterRequest(
                correlationID: 1, clusterID: RaftTestCluster.clusterID, timeoutMs: 30_000, voterID: 4,
                voterDirectoryID: RaftTestCluster.directory(4), listeners: []))
        cluster.step(leader, .received(add, from: Self.admin))
        cluster.run(for: 1_000)
        _ = cluster.nodes[leader]!.propose([ByteBuffer(string: "x")], now: cluster.now)
        cluster.run(for: 500)
        let last = try #require(cluster.nodes[leader]!.committedLog.last)
        let snapshot = RaftSnapshot(
            id: OffsetAndEpoch(offset: last.nextOffset, epoch: last.epoch), lastContainedLogTimestamp: 0,
            bytes: ByteBuffer(string: "state"))
        cluster.step(leader, .snapshotTaken(snapshot))
        #expect(cluster.nodes[leader]!.latestSnapshot?.voters?.voters.map(\.voterID) == [1, 2, 3, 4])
        #expect(cluster.nodes[leader]!.voters.map(\.id) == [1, 2, 3, 4])

        cluster.isolated = []
        cluster.run(for: 2_000)
        #expect(cluster.nodes[5]!.logStartOffset == snapshot.id.offset)
        #expect(cluster.nodes[5]!.voters.map(\.id) == [1, 2, 3, 4])
        let votersInLog = cluster.nodes[5]!.log.flatMap(\.records).contains {
            if case .voters = $0 { true } else { false }
        }
        #expect(!votersInLog)
    }
}
