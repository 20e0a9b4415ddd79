import FjordRaft
import KafkaProtocol
import NIOCore
import Testing

@Suite struct RaftElectionTests {
    @Test func singleVoterElectsItselfAndCommitsItsLeaderChangeBeforeTakingProposals() {
        // Flow:
        // 1. A lone voter ticks past its election timeout: pre-vote (no persist), candidate of epoch 1 (quorum
        //    state persisted: voted for itself), leader, LeaderChange appended — all in one step.
        // 2. Before the LeaderChange is persisted the high watermark stays nil and proposals are notReady.
        // 3. `.persisted` commits the LeaderChange (HW 1); a proposal is then accepted, appended by the next step,
        //    and committed once persisted.
        var cluster = RaftTestCluster(voters: [1])
        cluster.autoPersist = false
        cluster.now = 2_500
        let outputs = cluster.step(1, .tick(now: cluster.now))
        let names = outputs.compactMap { if case .roleChanged(let role) = $0 { role.name } else { nil } }
        #expect(names == [.prospective, .candidate, .leader])
        #expect(
            outputs.first { if case .persistQuorumState = $0 { true } else { false } }
                == .persistQuorumState(
                    QuorumState(
                        leaderEpoch: 1,
                        votedKey: ReplicaKey(
                            id: 1,
                            directoryID:
                                RaftTestCluster.directory(1)))))
        #expect(cluster.nodes[1]!.role.epoch == 1)
        #expect(cluster.nodes[1]!.highWatermark == nil)
        #expect(cluster.nodes[1]!.propose([ByteBuffer(string: "early")], now: 2_500) == .notReady)

        cluster.step(1, .persisted(through: 1))
        #expect(cluster.nodes[1]!.highWatermark == 1)
        #expect(cluster.committed[1]?.count == 1)

        let result = cluster.nodes[1]!.propose([ByteBuffer(string: "a"), ByteBuffer(string: "b")], now: 2_510)
        #expect(result == .accepted(baseOffset: 1, lastOffset: 2, epoch: 1))
        let next = cluster.step(1, .tick(now: 2_510))
        #expect(
            next.contains { if case .appendLog(let batches) = $0 { batches.first?.baseOffset == 1 } else { false } })
        cluster.step(1, .persisted(through: 3))
        #expect(cluster.nodes[1]!.highWatermark == 3)
        #expect(cluster.committedData(1) == ["a", "b"])
    }

    @Test func threeVotersElectALeaderThroughPreVoteAndPersistBeforeGranting() throws {
        // Flow:
        // 1. Node 1 times out first: it becomes prospective at epoch 0 and sends pre-votes for epoch 1, persisting
        //    nothing.
        // 2. The pre-votes are granted without the voters changing epoch or persisting.
        // 3. Node 1 becomes candidate of epoch 1: its quorum state is persisted before its Vote requests go out.
        // 4. Each voter persists its vote before the `.send` of its grant; node 1 leads epoch 1.
        // 5. Followers fetch; the LeaderChange commits on all three.
        // Nodes 2 and 3 wait much longer, so node 1 (timeout below 2000) is first.
        var cluster = RaftTestCluster(voters: [1, 2, 3]) { id, configuration in
            if id != 1 { configuration.electionTimeoutMs = 10_000 }
        }
        cluster.tick(by: 2_000)
        let prospective = cluster.history[1] ?? []
        #expect(cluster.nodes[1]!.role.name == .prospective)
        #expect(cluster.nodes[1]!.role.epoch == 0)
        #expect(!prospective.contains { if case .persistQuorumState = $0 { true } else { false } })
        let preVotes = cluster.queued(from: 1) { $0.isVoteRequest }.compactMap { $0.message.voteRequest }
        #expect(preVotes.count == 2)
        #expect(preVotes.allSatisfy { $0.preVote && $0.candidateEpoch == 1 })

        // Deliver the pre-votes to the voters only: they answer without persisting.
        for envelope in cluster.queue { cluster.step(envelope.to, .received(envelope.message, from: envelope.from)) }
        cluster.queue.removeFirst(2)
        for id: NodeID in [2, 3] {
            #expect(!(cluster.history[id] ?? []).contains { if case .persistQuorumState = $0 { true } else { false } })
            #expect(cluster.nodes[id]!.role.epoch == 0)
        }
        // The grants reach node 1: candidate; persist precedes the Vote sends.
        let grants = cluster.queue
        cluster.queue = []
        var candidateOutputs: [RaftOutput] = []
        for envelope in grants {
            candidateOutputs += cluster.step(envelope.to, .received(envelope.message, from: envelope.from))
        }
        let persistIndex = try #require(
            candidateOutputs.firstIndex { if case .persistQuorumState = $0 { true } else { false } })
        let firstSend = try #require(candidateOutputs.firstIndex { if case .send = $0 { true } else { false } })
        #expect(persistIndex < firstSend)
        #expect(cluster.nodes[1]!.role.name == .candidate)
        #expect(cluster.nodes[1]!.role.epoch == 1)

        // Voters: persist before the grant.
        let votes = cluster.queue
        cluster.queue = []
        for envelope in votes {
            let outputs = cluster.step(envelope.to, .received(envelope.message, from: envelope.from))
            let persisted = try #require(
                outputs.firstIndex { if case .persistQuorumState = $0 { true } else { false } })
            let grant = try #require(
                outputs.firstIndex {
                    if case .send(.voteResponse(let response), _) = $0 { response.voteGranted } else { false }
                })
            #expect(persisted < grant)
            #expect(cluster.nodes[envelope.to]!.quorumState.votedKey?.id == 1)
        }
        cluster.deliverAll()
        #expect(cluster.nodes[1]!.role.name == .leader)
        cluster.run(for: 200)
        for id: NodeID in [1, 2, 3] {
            #expect(cluster.nodes[id]!.highWatermark == 1)
            #expect(cluster.committed[id]?.count == 1)
            #expect(cluster.nodes[id]!.role.leaderID == 1)
        }
    }

    @Test func preVoteIsRejectedWhileTheLeaderIsLiveSoAPartitionedVoterCannotDisrupt() throws {
        // Flow:
        // 1. Three voters elect a leader; node 3 is then cut off until its fetch timeout passes.
        // 2. Node 3 goes prospective and retries pre-vote rounds, but its epoch never moves while it is alone.
        // 3. Reconnected, its pre-votes are rejected by voters that fetched from the live leader (or it learns the
        //    leader from their answers): it follows the leader again in the same epoch, which never changed.
        var cluster = RaftTestCluster(voters: [1, 2, 3])
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        let epoch = cluster.nodes[leader]!.role.epoch
        let victim = [1, 2, 3].first { $0 != leader }!
        cluster.isolated = [victim]
        cluster.run(for: 6_000)
        #expect([.prospective].contains(cluster.nodes[victim]!.role.name))
        #expect(cluster.nodes[victim]!.role.epoch == epoch)
        cluster.isolated = []
        cluster.run(for: 3_000)
        #expect(cluster.nodes[victim]!.role.name == .follower)
        #expect(cluster.nodes[victim]!.role.leaderID == leader)
        #expect(
            cluster.nodes[leader]!.role
                == RaftRoleSummary(
                    name: .leader, epoch: epoch, leaderID: leader, votedKey: cluster.configurations[leader]!.localKey))
    }

    @Test func votesAreGrantedOnlyToUpToDateLogsAndOncePerEpoch() throws {
        // Flow:
        // 1. A voter whose log ends at offset 3 in epoch 2 (quorum state: epoch 2).
        // 2. A candidate of epoch 3 whose log ends at (5, epoch 1) is rejected, although its log is longer; the
        //    voter moves to epoch 3 (persisted) without voting.
        // 3. A candidate of epoch 3 ending at (1, epoch 2) is behind (offset 1 < 3): rejected.
        // 4. One ending at (3, epoch 2) is granted, persisted before the answer; another candidate of the same
        //    epoch is then rejected; the same candidate asking again is granted without a second persist.
        let persisted = RaftPersistentState(
            quorumState: QuorumState(leaderEpoch: 2),
            log: [dataBatch(0, epoch: 1, ["a"]), dataBatch(1, epoch: 2, ["b", "c"])])
        var cluster = RaftTestCluster(voters: [1, 2, 3], persisted: [1: persisted])
        func vote(_ candidate: NodeID, epoch: Int32, last: OffsetAndEpoch, id: Int32) -> RaftMessage {
            .voteRequest(
                RaftMessage.VoteRequest(
                    correlationID: id, clusterID: RaftTestCluster.clusterID, candidateEpoch: epoch,
                    candidateID: candidate, candidateDirectoryID: RaftTestCluster.directory(candidate), voterID: 1,
                    voterDirectoryID: RaftTestCluster.directory(1), lastOffsetEpoch: last.epoch,
                    lastOffset: last.offset, preVote: false))
        }
        func answer(_ outputs: [RaftOutput]) -> RaftMessage.VoteResponse? {
            outputs.compactMap { if case .send(.voteResponse(let response), _) = $0 { response } else { nil } }.first
        }
        var outputs = cluster.step(1, .received(vote(2, epoch: 3, last: .init(offset: 5, epoch: 1), id: 1), from: 2))
        #expect(answer(outputs)?.voteGranted == false)
        #expect(outputs.first == .persistQuorumState(QuorumState(leaderEpoch: 3)))
        outputs = cluster.step(1, .received(vote(2, epoch: 3, last: .init(offset: 1, epoch: 2), id: 2), from: 2))
        #expect(answer(outputs)?.voteGranted == false)
        outputs = cluster.step(1, .received(vote(2, epoch: 3, last: .init(offset: 3, epoch: 2), id: 3), from: 2))
        #expect(answer(outputs)?.voteGranted == true)
        let persistIndex = try #require(outputs.firstIndex { if case .persistQuorumState = $0 { true } else { false } })
        let sendIndex = try #require(outputs.firstIndex { if case .send = $0 { true } else { false } })
        #expect(persistIndex < sendIndex)
        #expect(cluster.nodes[1]!.quorumState.votedKey?.id == 2)
        outputs = cluster.step(1, .received(vote(3, epoch: 3, last: .init(offset: 9, epoch: 2), id: 4), from: 3))
        #expect(answer(outputs)?.voteGranted == false)
        outputs = cluster.step(1, .received(vote(2, epoch: 3, last: .init(offset: 3, epoch: 2), id: 5), from: 2))
        #expect(answer(outputs)?.voteGranted == true)
        #expect(!outputs.contains { if case .persistQuorumState = $0 { true } else { false } })
    }

    @Test func badMessagesGetKafkaErrorsOrAreIgnored() {
        // Flow:
        // 1. A Vote with another cluster id: INCONSISTENT_CLUSTER_ID, nothing persisted.
        // 2. A Vote of an older epoch: FENCED_LEADER_EPOCH.
        // 3. A Vote addressed to another replica key: INVALID_VOTER_KEY.
        // 4. A Fetch response, a Vote response and a FetchSnapshot response nobody asked for: no output at all.
        // 5. A Fetch sent to a non-leader: NOT_LEADER_OR_FOLLOWER with the node's epoch.
        let persisted = RaftPersistentState(quorumState: QuorumState(leaderEpoch: 4))
        var cluster = RaftTestCluster(voters: [1, 2, 3], persisted: [1: persisted])
        func vote(cluster id: String, epoch: Int32, voterDirectory: KafkaUUID) -> RaftMessage {
            .voteRequest(
                RaftMessage.VoteRequest(
                    correlationID: 7, clusterID: id, candidateEpoch: epoch, candidateID: 2,
                    candidateDirectoryID: RaftTestCluster.directory(2), voterID: 1, voterDirectoryID: voterDirectory,
                    lastOffsetEpoch: 0, lastOffset: 0, preVote: false))
        }
        func answer(_ outputs: [RaftOutput]) -> RaftMessage.VoteResponse? {
            outputs.compactMap { if case .send(.voteResponse(let response), _) = $0 { response } else { nil } }.first
        }
        let mine = RaftTestCluster.directory(1)
        var outputs = cluster.step(1, .received(vote(cluster: "other", epoch: 9, voterDirectory: mine), from: 2))
        #expect(answer(outputs)?.errorCode == .inconsistentClusterID)
        #expect(outputs.count == 1)
        outputs = cluster.step(
            1,
            .received(
                vote(cluster: RaftTestCluster.clusterID, epoch: 3, voterDirectory: mine),
                from: 2))
        #expect(answer(outputs)?.partitionErrorCode == .fencedLeaderEpoch)
        #expect(answer(outputs)?.leaderEpoch == 4)
        outputs = cluster.step(
            1,
            .received(
                vote(
                    cluster: RaftTestCluster.clusterID, epoch: 5,
                    voterDirectory: KafkaUUID(high: 9, low: 9)), from: 2))
        #expect(answer(outputs)?.partitionErrorCode == .invalidVoterKey)
        #expect(cluster.nodes[1]!.role.epoch == 4)

        let strayFetch = RaftMessage.fetchResponse(
            RaftMessage.FetchResponse(
                correlationID: 99, highWatermark: 10, logStartOffset: 0,
                currentLeader: LeaderAndEpoch(leaderID: 2, epoch: 9),
                batches: [dataBatch(0, epoch: 9, ["x"])]))
        #expect(cluster.step(1, .received(strayFetch, from: 2)).isEmpty)
        let strayVote = RaftMessage.voteResponse(
            RaftMessage.VoteResponse(correlationID: 5, leaderID: nil, leaderEpoch: 9, voteGranted: true))
        #expect(cluster.step(1, .received(strayVote, from: 3)).isEmpty)
        let straySnapshot = RaftMessage.fetchSnapshotResponse(
            RaftMessage.FetchSnapshotResponse(
                correlationID: 1, snapshotID: OffsetAndEpoch(offset: 5, epoch: 1),
                currentLeader: LeaderAndEpoch(leaderID: 2, epoch: 4), size: 3, position: 0,
                unalignedRecords: ByteBuffer(string: "abc")))
        #expect(cluster.step(1, .received(straySnapshot, from: 2)).isEmpty)
        #expect(cluster.nodes[1]!.role.epoch == 4)
        #expect(cluster.nodes[1]!.logEndOffset == 0)

        let fetch = RaftMessage.fetchRequest(
            RaftMessage.FetchRequest(
                correlationID: 3, clusterID: RaftTestCluster.clusterID, replicaID: 3,
                replicaDirectoryID: RaftTestCluster.directory(3), maxWaitMs: 500, maxBytes: 1 << 20,
                currentLeaderEpoch: 4, fetchOffset: 0, lastFetchedEpoch: 0, logStartOffset: 0))
        outputs = cluster.step(1, .received(fetch, from: 3))
        let response = outputs.compactMap { if case .send(.fetchResponse(let r), 3) = $0 { r } else { nil } }.first
        #expect(response?.partitionErrorCode == .notLeaderOrFollower)
        #expect(response?.currentLeader == LeaderAndEpoch(leaderID: nil, epoch: 4))
    }
}
