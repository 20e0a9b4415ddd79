import FjordRaft
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import FjordBroker

/// The driver against a real metadata log on disk, as the one voter of its quorum: it elects itself, commits
/// proposals only after they are appended and fsynced, applies them once, writes a snapshot when enough was
/// committed, and a restart from the same folder gives back the same committed state.
@Suite struct RaftDriverTests {
    /// Records what the driver applied.
    final class RecordingStateMachine: RaftStateMachine {
        let applied = NIOLockedValueBox<[String]>([])
        let snapshots = NIOLockedValueBox<[Int64]>([])
        let isCaughtUp = NIOLockedValueBox(false)

        func applyCommitted(_ records: [ByteBuffer], offsets: [Int64]) throws {
            applied.withLockedValue { $0 += records.map { String(buffer: $0) } }
        }

        func replace(withSnapshot records: [ByteBuffer], endOffset: Int64) throws {
            applied.withLockedValue { $0 = records.map { String(buffer: $0) } }
            snapshots.withLockedValue { $0.append(endOffset) }
        }

        func snapshotRecords() -> [ByteBuffer] { applied.withLockedValue { $0.map { ByteBuffer(string: $0) } } }

        func caughtUp() throws { isCaughtUp.withLockedValue { $0 = true } }
    }

    private func makeDriver(_ folder: String, machine: RecordingStateMachine, group: any EventLoopGroup) throws
        -> RaftDriver
    {
        let log = try PartitionLog(
            directory: folder, topicPartition: MetadataService.topicPartition, topicID: RaftWire.topicID,
            configuration: MetadataService.logConfiguration)
        var raft = RaftConfiguration(
            nodeID: 1, directoryID: KafkaUUID(high: 1, low: 1), voters: [ReplicaKey(id: 1)], clusterID: "cluster")
        raft.electionTimeoutMs = 50
        var configuration = RaftDriver.Configuration(raft: raft)
        configuration.snapshotMaxNewRecordBytes = 6
        let logger = Logger(label: "test")
        let peers = ControllerPeers(
            localID: 1, endpoints: [:], group: group, requestTimeout: .seconds(1), logger: logger)
        return try RaftDriver(
            configuration: configuration, store: RaftLogStore(directory: folder, log: log, logger: logger),
            peers: peers, stateMachine: machine, logger: logger)
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(condition())
    }

    /// Flow: 1. a one-voter driver elects itself and catches up; 2. two proposals answer with their offsets once
    /// applied, in order; 3. enough bytes were committed for a snapshot file; 4. a second driver on the same folder
    /// restarts from the snapshot and the log, and applies the same records; the quorum state kept the epoch.
    @Test func aLoneVoterCommitsSnapshotsAndRestarts() async throws {
        let folder =
            FileManager.default.temporaryDirectory.appendingPathComponent("fjord-raft-\(UUID().uuidString)")
            .path + "/__cluster_metadata-0"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let machine = RecordingStateMachine()
        let driver = try makeDriver(folder, machine: machine, group: group)
        let running = Task { try await driver.run() }
        try await waitUntil { driver.status.isLeader && driver.status.isCaughtUp }
        let first = try await driver.propose([ByteBuffer(string: "one")], on: group.next()).get()
        let second = try await driver.propose(
            [ByteBuffer(string: "two"), ByteBuffer(string: "three")], on: group.next()
        )
        .get()
        #expect(second > first)
        #expect(machine.applied.withLockedValue { $0 } == ["one", "two", "three"])
        try await waitUntil { (try? RaftSnapshotFile.list(in: folder).contains { $0.endOffset > 0 }) == true }
        let epoch = driver.status.role.epoch
        running.cancel()
        try await running.value

        let restarted = RecordingStateMachine()
        let again = try makeDriver(folder, machine: restarted, group: group)
        let rerun = Task { try await again.run() }
        try await waitUntil { again.status.isLeader && again.status.isCaughtUp }
        #expect(restarted.applied.withLockedValue { $0 } == ["one", "two", "three"])
        #expect(again.status.role.epoch > epoch)
        rerun.cancel()
        try await rerun.value
        try await group.shutdownGracefully()
    }
}
