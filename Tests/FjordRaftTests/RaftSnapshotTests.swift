import FjordRaft
import KafkaProtocol
import NIOCore
import Testing

@Suite struct RaftSnapshotTests {
    @Test func aFollowerBehindTheLogStartFetchesTheSnapshotInChunksAndContinuesAfterIt() throws {
        // Flow:
        // 1. Voters 1-3 with node 3 cut off; 1 and 2 elect a leader and commit ten proposals (fetches and
        //    snapshot chunks are bounded to 200 bytes).
        // 2. The leader's driver snapshots the committed log (500 bytes): the core asks to delete the log prefix.
        // 3. Node 3 reconnects, fetches at offset 0 (below the log start) and is answered with the snapshot id.
        // 4. It fetches the snapshot in chunks at positions 0, 200, 400, emits installSnapshot once with the
        //    leader's bytes, restarts its log at the snapshot end, then fetches the rest: its log ends up equal to
        //    the leader's, and it hands out as committed only the batches after the snapshot.
        var cluster = RaftTestCluster(voters: [1, 2, 3]) { _, configuration in configuration.fetchMaxBytes = 200 }
        cluster.isolated = [3]
        let elected = cluster.runUntilLeader()
        let leader = try #require(elected)
        for index in 0..<10 {
            let result = cluster.nodes[leader]!.propose([ByteBuffer(string: "v\(index)")], now: cluster.now)
            guard case .accepted = result else {
                Issue.record("proposal \(index): \(result)")
                return
            }
            cluster.run(for: 20)
        }
        cluster.run(for: 200)
        let committed = try #require(cluster.nodes[leader]!.committedLog.last)
        let snapshotID = OffsetAndEpoch(offset: committed.nextOffset, epoch: committed.epoch)
        var bytes = ByteBuffer()
        bytes.writeRepeatingByte(0x5A, count: 500)
        let snapshot = RaftSnapshot(id: snapshotID, lastContainedLogTimestamp: 7, bytes: bytes)
        #expect(cluster.step(leader, .snapshotTaken(snapshot)) == [.deleteLogPrefix(before: snapshotID.offset)])
        #expect(cluster.nodes[leader]!.logStartOffset == snapshotID.offset)
        _ = cluster.nodes[leader]!.propose([ByteBuffer(string: "after")], now: cluster.now)

        cluster.isolated = []
        cluster.run(for: 3_000)
        let history = cluster.history[3] ?? []
        let positions = history.compactMap { output -> Int64? in
            if case .send(.fetchSnapshotRequest(let request), _) = output { request.position } else { nil }
        }
        #expect(positions == [0, 200, 400])
        let installs = history.compactMap { output -> RaftSnapshot? in
            if case .installSnapshot(let installed) = output { installed } else { nil }
        }
        #expect(installs.count == 1)
        #expect(installs.first?.id == snapshotID)
        #expect(installs.first?.bytes == bytes)
        #expect(cluster.nodes[3]!.logStartOffset == snapshotID.offset)
        #expect(cluster.nodes[3]!.log == cluster.nodes[leader]!.log)
        #expect(cluster.committed[3]!.allSatisfy { $0.baseOffset >= snapshotID.offset })
        #expect(cluster.committedData(3) == ["after"])
    }
}
