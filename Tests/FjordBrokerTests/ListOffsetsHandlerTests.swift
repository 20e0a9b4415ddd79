import FjordStorage
import Foundation
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// ListOffsets through `ListOffsetsHandler` on a real log: the positions a consumer resets to (earliest, latest, by
/// time, max timestamp) with Kafka's answers for each, bounded by the isolation level, and the errors per partition.
@Suite struct ListOffsetsHandlerTests {
    private typealias H = BrokerHarness
    private typealias Partition = ListOffsetsRequest.ListOffsetsPartition

    /// One partition's answer.
    private func lookup(
        _ broker: BrokerHarness, _ topic: String, partition: Int32 = 0, timestamp: Int64, leaderEpoch: Int32 = -1,
        isolationLevel: Int8 = 0, version: Int16 = 10
    ) async throws -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        let request = ListOffsetsRequest(
            replicaID: -1, isolationLevel: isolationLevel,
            topics: [
                .init(
                    name: topic,
                    partitions: [
                        Partition(partitionIndex: partition, currentLeaderEpoch: leaderEpoch, timestamp: timestamp)
                    ])
            ])
        let response = try await broker.call(ListOffsetsHandler(services: broker.services), request, version: version)
        #expect(response.topics.map(\.name) == [topic])
        return try #require(response.topics.first?.partitions.first)
    }

    /// Flow: three batches with out-of-order timestamps — offsets 0-1 at t, t+10; 2-3 at t+50, t+5; 4 at t+20.
    /// Earliest is 0 and latest 5 (no timestamp); max timestamp (v7+) is offset 2 with t+50 — the record, not its
    /// batch's last offset; by time: the first offset whose timestamp is at or after the target (t+5 → 1 at t+10,
    /// t+30 → 2 at t+50), none after the last (-1, -1, no error); earliest local (v8+) is the log start, latest
    /// tiered (v9+) none; a special timestamp older than the version (or unknown) is UNSUPPORTED_VERSION, as Kafka
    /// answers. Leader epochs come back from v4.
    @Test(arguments: [Int16(1), 4, 7, 8, 9, 10])
    func positionsAndTimes(version: Int16) async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("times")
            let t = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
            #expect(try await broker.produce("times", H.batch(["a", "b"], timestamps: [t, t + 10])).errorCode == 0)
            #expect(
                try await broker.produce("times", H.batch(["c", "d"], timestamps: [t + 50, t + 5])).errorCode == 0)
            #expect(try await broker.produce("times", H.batch(["e"], timestamps: [t + 20])).errorCode == 0)
            let epoch: Int32 = version >= 4 ? 0 : -1

            let earliest = try await lookup(broker, "times", timestamp: -2, version: version)
            #expect(earliest.errorCode == 0)
            #expect([earliest.offset, earliest.timestamp] == [0, -1])
            #expect(earliest.leaderEpoch == epoch)
            let latest = try await lookup(broker, "times", timestamp: -1, version: version)
            #expect([latest.offset, latest.timestamp] == [5, -1])
            #expect(latest.leaderEpoch == epoch)

            let early = try await lookup(broker, "times", timestamp: t + 5, version: version)
            #expect([early.offset, early.timestamp] == [1, t + 10])
            #expect(early.leaderEpoch == epoch)
            let middle = try await lookup(broker, "times", timestamp: t + 30, version: version)
            #expect([middle.offset, middle.timestamp] == [2, t + 50])
            let exact = try await lookup(broker, "times", timestamp: t, version: version)
            #expect([exact.offset, exact.timestamp] == [0, t])
            let future = try await lookup(broker, "times", timestamp: t + 1_000, version: version)
            #expect(future.errorCode == 0)
            #expect([future.offset, future.timestamp] == [-1, -1])

            let newest = try await lookup(broker, "times", timestamp: -3, version: version)
            let local = try await lookup(broker, "times", timestamp: -4, version: version)
            let tiered = try await lookup(broker, "times", timestamp: -5, version: version)
            let unsupported = ErrorCode.unsupportedVersion.rawValue
            if version >= 7 {
                #expect(newest.errorCode == 0)
                #expect([newest.offset, newest.timestamp] == [2, t + 50])
            } else {
                #expect(newest.errorCode == unsupported)
            }
            #expect(local.errorCode == (version >= 8 ? 0 : unsupported))
            if version >= 8 { #expect(local.offset == 0) }
            #expect(tiered.errorCode == (version >= 9 ? 0 : unsupported))
            #expect(tiered.offset == -1)
            #expect(try await lookup(broker, "times", timestamp: -7, version: version).errorCode == unsupported)
        }
    }

    /// Flow: an empty partition: earliest and latest are 0, by time and max timestamp find nothing (-1).
    @Test func anEmptyPartition() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("empty")
            #expect(try await lookup(broker, "empty", timestamp: -2).offset == 0)
            #expect(try await lookup(broker, "empty", timestamp: -1).offset == 0)
            #expect(try await lookup(broker, "empty", timestamp: 0).offset == -1)
            let newest = try await lookup(broker, "empty", timestamp: -3)
            #expect(newest.errorCode == 0)
            #expect(newest.offset == -1)
        }
    }

    /// Flow: a committed record at 0, then an open transaction from offset 1 holding the newest timestamp. Latest is
    /// the high watermark (2) for read_uncommitted and the last stable offset (1) for read_committed; lookups by time
    /// and max timestamp never answer at or beyond the isolation level's bound (Kafka's "last fetchable offset"):
    /// read_committed finds nothing where read_uncommitted finds offset 1. Once committed, read_committed sees it.
    @Test func theIsolationLevelBoundsTheAnswers() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("txn")
            let t = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
            #expect(try await broker.produce("txn", H.batch(["committed"], timestamps: [t])).errorCode == 0)
            var producer = try await broker.initTransactions("tx-list-offsets")
            #expect(try await broker.addPartitions(producer, "txn") == [0])
            #expect(try await broker.produce(&producer, "txn", ["open"]).baseOffset == 1)

            #expect(try await lookup(broker, "txn", timestamp: -1, isolationLevel: 0).offset == 2)
            #expect(try await lookup(broker, "txn", timestamp: -1, isolationLevel: 1).offset == 1)

            let recent = Int64(Date().timeIntervalSince1970 * 1000) - 30_000
            #expect(try await lookup(broker, "txn", timestamp: recent, isolationLevel: 0).offset == 1)
            let hidden = try await lookup(broker, "txn", timestamp: recent, isolationLevel: 1)
            #expect(hidden.errorCode == 0)
            #expect(hidden.offset == -1)
            #expect(try await lookup(broker, "txn", timestamp: -3, isolationLevel: 0).offset == 1)
            #expect(try await lookup(broker, "txn", timestamp: -3, isolationLevel: 1).offset == -1)

            #expect(try await broker.endTransaction(producer, commit: true) == 0)
            #expect(try await lookup(broker, "txn", timestamp: -1, isolationLevel: 1).offset == 3)
            #expect(try await lookup(broker, "txn", timestamp: recent, isolationLevel: 1).offset == 1)
        }
    }

    /// Flow: per-partition errors — an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION, a partition listed
    /// twice is INVALID_REQUEST (every time it is listed, as Kafka answers), a current leader epoch newer than the
    /// leader's UNKNOWN_LEADER_EPOCH and an older one FENCED_LEADER_EPOCH; after DeleteRecords, earliest is the new log
    /// start.
    @Test func errorsAndTheLogStart() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("orders", partitions: 2)
            try await broker.append("orders", ["a", "b", "c"])
            #expect(
                try await lookup(broker, "nope", timestamp: -1).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(
                try await lookup(broker, "orders", partition: 2, timestamp: -1).errorCode
                    == ErrorCode.unknownTopicOrPartition.rawValue)

            let twice = ListOffsetsRequest(
                replicaID: -1,
                topics: [
                    .init(
                        name: "orders",
                        partitions: [
                            Partition(partitionIndex: 0, timestamp: -1), Partition(partitionIndex: 1, timestamp: -1),
                            Partition(partitionIndex: 0, timestamp: -2),
                        ])
                ])
            let answers = try await broker.call(ListOffsetsHandler(services: broker.services), twice, version: 10)
                .topics.flatMap(\.partitions)
            #expect(answers.map(\.partitionIndex) == [0, 1, 0])
            #expect(
                answers.map(\.errorCode) == [ErrorCode.invalidRequest.rawValue, 0, ErrorCode.invalidRequest.rawValue])

            #expect(try await lookup(broker, "orders", timestamp: -1, leaderEpoch: 0).offset == 3)
            #expect(
                try await lookup(broker, "orders", timestamp: -1, leaderEpoch: 1).errorCode
                    == ErrorCode.unknownLeaderEpoch.rawValue)
            let replica = try broker.replica("orders")
            replica.update(leaderEpoch: 2, isLeader: true, config: replica.config)
            #expect(
                try await lookup(broker, "orders", timestamp: -1, leaderEpoch: 1).errorCode
                    == ErrorCode.fencedLeaderEpoch.rawValue)
            #expect(try await lookup(broker, "orders", timestamp: -1, leaderEpoch: 2).leaderEpoch == 2)

            let deleted = try await broker.call(
                DeleteRecordsHandler(services: broker.services),
                DeleteRecordsRequest(
                    topics: [.init(name: "orders", partitions: [.init(partitionIndex: 0, offset: 2)])],
                    timeoutMs: 30_000
                ), version: 2)
            #expect(deleted.topics.first?.partitions.first?.errorCode == 0)
            #expect(try await lookup(broker, "orders", timestamp: -2).offset == 2)
            #expect(try await lookup(broker, "orders", timestamp: 0).offset == 2)
        }
    }
}
