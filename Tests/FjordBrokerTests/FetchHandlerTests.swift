import FjordReplication
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import FjordBroker

/// Fetch through `FetchHandler` / `FetchOperation` on a real broker's services (`BrokerHarness`), answers decoded
/// from the bytes and file slices a consumer would receive: full fetches at every kind of version, per-partition
/// errors, leader-epoch fencing, long polling (`max_wait_ms`, `min_bytes`, a parked fetch woken by an append) and
/// read_committed (last stable offset, aborted transactions). Fetch sessions are in `IncrementalFetchSessionTests`.
@Suite struct FetchHandlerTests {
    private typealias H = BrokerHarness

    /// Flow: two batches in partition 0, none in partition 1; a full fetch (no session) from offset 0 returns both
    /// batches whole with the partition's high watermark, last stable offset and log start; partition 1 answers with
    /// no records and no error; read_uncommitted carries no aborted-transaction list; a fetch from offset 1 starts at
    /// the batch holding it. Names before v13, topic ids from v13.
    @Test(arguments: [Int16(4), 5, 7, 11, 12, 13, 16, 17])
    func aFullFetchReturnsWholeBatchesAndThePartitionOffsets(version: Int16) async throws {
        try await H.withBroker { broker in
            let id = try await broker.createTopic("orders", partitions: 2)
            try await broker.append("orders", ["a", "b"])
            try await broker.append("orders", ["c"])
            let name = version >= 13 ? "" : "orders"
            let request = H.fetchRequest([
                .init(topic: name, topicID: id, partition: 0), .init(topic: name, topicID: id, partition: 1),
            ])
            let response = try await broker.fetch(request, version: version)
            #expect(response.errorCode == 0)
            #expect(response.sessionID == 0)
            let p0 = try #require(response.data("orders", id: id, partition: 0))
            #expect(p0.errorCode == 0)
            #expect(try H.records(in: p0.records).map(\.description) == ["0:a", "1:b", "2:c"])
            #expect(try H.batches(in: p0.records).map(\.baseOffset) == [0, 2])
            #expect(p0.highWatermark == 3)
            #expect(p0.lastStableOffset == 3)
            if version >= 5 { #expect(p0.logStartOffset == 0) }
            #expect(p0.abortedTransactions == nil)
            let p1 = try #require(response.data("orders", id: id, partition: 1))
            #expect(p1.errorCode == 0)
            #expect(p1.highWatermark == 0)
            #expect((p1.records?.readableBytes ?? 0) == 0)

            let fromMiddle = try await broker.fetch(
                H.fetchRequest([.init(topic: name, topicID: id, offset: 1)]), version: version)
            let batches = try H.batches(in: fromMiddle.data("orders", id: id)?.records)
            #expect(batches.first?.baseOffset == 0)  // the batch holding offset 1, whole: the client skips offset 0
            #expect(batches.last?.lastOffset == 2)
        }
    }

    /// Flow: partition_max_bytes and max_bytes smaller than a batch still return the first batch whole (KIP-74, so a
    /// consumer always makes progress), and only it.
    @Test func theFirstBatchIsReturnedWholeEvenBeyondTheLimits() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("big")
            try await broker.append("big", [String(repeating: "x", count: 500)])
            try await broker.append("big", [String(repeating: "y", count: 500)])
            let response = try await broker.fetch(H.fetchRequest([.init(topic: "big", maxBytes: 10)], maxBytes: 10))
            let records = try H.records(in: response.data("big")?.records)
            #expect(records.map(\.offset) == [0])
            #expect(records.first?.value?.count == 500)
        }
    }

    /// Flow: errors are per partition and do not hide the data of the others. Past the log end and below the log
    /// start (after DeleteRecords) are OFFSET_OUT_OF_RANGE; exactly the log end is no error and no data; an unknown
    /// topic or partition is UNKNOWN_TOPIC_OR_PARTITION (by name) or UNKNOWN_TOPIC_ID (by id, v13+). A partition in
    /// error answers a long poll at once.
    @Test(arguments: [Int16(12), 13])
    func errorsArePerPartition(version: Int16) async throws {
        try await H.withBroker { broker in
            let id = try await broker.createTopic("orders", partitions: 2)
            try await broker.append("orders", partition: 0, ["a", "b", "c"])
            try await broker.append("orders", partition: 1, ["d"])
            let name = version >= 13 ? "" : "orders"
            let unknownID = KafkaUUID(high: 42, low: 42)
            let request = H.fetchRequest(
                [
                    .init(topic: name, topicID: id, partition: 0, offset: 10),
                    .init(topic: name, topicID: id, partition: 1, offset: 0),
                    .init(topic: name, topicID: id, partition: 7, offset: 0),
                    .init(topic: version >= 13 ? "" : "missing", topicID: unknownID, partition: 0, offset: 0),
                ], maxWaitMs: 30_000, minBytes: 1 << 20)
            let started = ContinuousClock.now
            let response = try await broker.fetch(request, version: version)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(response.errorCode == 0)
            #expect(response.data("orders", id: id, partition: 0)?.errorCode == ErrorCode.offsetOutOfRange.rawValue)
            let good = try #require(response.data("orders", id: id, partition: 1))
            #expect(good.errorCode == 0)
            #expect(try H.records(in: good.records).map(\.description) == ["0:d"])
            #expect(
                response.data("orders", id: id, partition: 7)?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            let unknown = try #require(response.data("missing", id: unknownID))
            #expect(unknown.errorCode == (version >= 13 ? ErrorCode.unknownTopicID : .unknownTopicOrPartition).rawValue)

            let atEnd = try await broker.fetch(
                H.fetchRequest([.init(topic: name, topicID: id, offset: 3)]), version: version)
            let end = try #require(atEnd.data("orders", id: id))
            #expect(end.errorCode == 0)
            #expect((end.records?.readableBytes ?? 0) == 0)
            #expect(end.highWatermark == 3)

            let deleted = try await broker.call(
                DeleteRecordsHandler(services: broker.services),
                DeleteRecordsRequest(
                    topics: [.init(name: "orders", partitions: [.init(partitionIndex: 0, offset: 2)])],
                    timeoutMs: 30_000
                ), version: 2)
            #expect(deleted.topics.first?.partitions.first?.lowWatermark == 2)
            let below = try await broker.fetch(
                H.fetchRequest([.init(topic: name, topicID: id, offset: 1)]), version: version)
            #expect(below.data("orders", id: id)?.errorCode == ErrorCode.offsetOutOfRange.rawValue)
            let fromStart = try await broker.fetch(
                H.fetchRequest([.init(topic: name, topicID: id, offset: 2)]), version: version)
            let kept = try #require(fromStart.data("orders", id: id))
            #expect(kept.logStartOffset == 2)
            #expect(try H.records(in: kept.records).filter { $0.offset >= 2 }.map(\.description) == ["2:c"])
        }
    }

    /// Flow (v9+): a current leader epoch newer than the leader's is UNKNOWN_LEADER_EPOCH, an older one
    /// FENCED_LEADER_EPOCH, -1 skips the check; a partition this node no longer leads is NOT_LEADER_OR_FOLLOWER
    /// unless it follows a live leader and the consumer's version may read from followers (v11+, KIP-392).
    /// Before v9 the field is not on the wire, so nothing is checked.
    @Test func leaderEpochsAreChecked() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("epochs")
            try await broker.append("epochs", ["a"])
            func error(epoch: Int32, version: Int16 = 12) async throws -> Int16? {
                try await broker.fetch(H.fetchRequest([.init(topic: "epochs", leaderEpoch: epoch)]), version: version)
                    .data("epochs")?.errorCode
            }
            #expect(try await error(epoch: 0) == 0)
            #expect(try await error(epoch: -1) == 0)
            #expect(try await error(epoch: 1) == ErrorCode.unknownLeaderEpoch.rawValue)
            #expect(try await error(epoch: 1, version: 8) == 0)

            let replica = try broker.replica("epochs")
            replica.update(leaderEpoch: 3, isLeader: true, config: replica.config)
            #expect(try await error(epoch: 1) == ErrorCode.fencedLeaderEpoch.rawValue)
            #expect(try await error(epoch: 4) == ErrorCode.unknownLeaderEpoch.rawValue)
            #expect(try await error(epoch: 3) == 0)

            replica.update(leaderEpoch: 3, isLeader: false, config: replica.config)
            #expect(try await error(epoch: -1) == ErrorCode.notLeaderOrFollower.rawValue)

            // A follower of a live leader serves consumers of v11+ (KIP-392) with the same epoch checks; older
            // versions, and read_committed, are sent to the leader.
            replica.applyRegistration(
                PartitionRegistration(
                    leader: 2, leaderEpoch: 4, partitionEpoch: 10, replicas: [replica.localID, 2],
                    isr: [replica.localID, 2]),
                localID: replica.localID, config: replica.config, lagTimeMaxMs: 30_000,
                now: PartitionReplica.replicationNow())
            #expect(try await error(epoch: 4) == 0)
            #expect(try await error(epoch: 3) == ErrorCode.fencedLeaderEpoch.rawValue)
            #expect(try await error(epoch: -1, version: 10) == ErrorCode.notLeaderOrFollower.rawValue)
        }
    }

    // MARK: Long polling

    /// Flow: a fetch at the log end with max_wait_ms 30 s and min_bytes 1 parks (seen in the purgatory gauge); an
    /// append from another event loop answers it at once with the new record — not at max_wait_ms.
    @Test func aParkedFetchIsAnsweredByAnAppend() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("poll")
            try await broker.append("poll", ["before"])
            let loops = (broker.group.next(), broker.group.next())
            let started = ContinuousClock.now
            let parked = try broker.startFetch(
                H.fetchRequest([.init(topic: "poll", offset: 1)], maxWaitMs: 30_000, minBytes: 1), on: loops.0)
            try await broker.waitUntil("the fetch is parked") { broker.parkedFetches == 1 }
            #expect(try await !parked.isCompleted())
            let offset = try await broker.produce("poll", H.batch(["after"])).baseOffset
            #expect(offset == 1)
            let response = try await broker.fetchResponse(of: parked, within: .seconds(10))
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(try H.records(in: response.data("poll")?.records).map(\.description) == ["1:after"])
            #expect(response.data("poll")?.highWatermark == 2)
            try await broker.waitUntil("the purgatory is empty") { broker.parkedFetches == 0 }
        }
    }

    /// Flow: min_bytes larger than one batch: the first append wakes the fetch, which finds too little and parks
    /// again (checked after the wake-up has run on its event loop); the second append brings enough and the answer
    /// holds both batches.
    @Test func minBytesHoldsTheAnswerUntilEnoughHasArrived() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("poll")
            let batchSize = H.batch(["one"]).readableBytes
            let loop = broker.group.next()
            let parked = try broker.startFetch(
                H.fetchRequest([.init(topic: "poll", offset: 0)], maxWaitMs: 30_000, minBytes: Int32(batchSize + 1)),
                on: loop
            )
            try await broker.waitUntil("the fetch is parked") { broker.parkedFetches == 1 }
            try await broker.append("poll", ["one"])
            // The append queued the wake-up on the fetch's loop before returning: a task queued after it runs after it.
            try await loop.submit {}.get()
            #expect(try await !parked.isCompleted())
            #expect(broker.parkedFetches == 1)
            try await broker.append("poll", ["two"])
            let response = try await broker.fetchResponse(of: parked, within: .seconds(10))
            #expect(try H.records(in: response.data("poll")?.records).map(\.description) == ["0:one", "1:two"])
        }
    }

    /// Flow: nothing arrives: the answer comes when max_wait_ms passes — not before — with no records, no error and
    /// the partition's offsets; with less than min_bytes available, what there is comes back at max_wait_ms;
    /// max_wait_ms 0 answers at once.
    @Test func maxWaitEndsALongPoll() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("quiet")
            try await broker.append("quiet", ["only"])

            var started = ContinuousClock.now
            let empty = try await broker.fetch(
                H.fetchRequest([.init(topic: "quiet", offset: 1)], maxWaitMs: 300, minBytes: 1))
            #expect(ContinuousClock.now - started >= .milliseconds(290))
            let nothing = try #require(empty.data("quiet"))
            #expect(nothing.errorCode == 0)
            #expect((nothing.records?.readableBytes ?? 0) == 0)
            #expect(nothing.highWatermark == 1)

            started = ContinuousClock.now
            let partial = try await broker.fetch(
                H.fetchRequest([.init(topic: "quiet", offset: 0)], maxWaitMs: 300, minBytes: 1 << 20))
            #expect(ContinuousClock.now - started >= .milliseconds(290))
            #expect(try H.records(in: partial.data("quiet")?.records).map(\.description) == ["0:only"])

            let immediate = try await broker.fetch(
                H.fetchRequest([.init(topic: "quiet", offset: 1)], maxWaitMs: 0, minBytes: 1))
            #expect(immediate.data("quiet")?.errorCode == 0)
            #expect(broker.parkedFetches == 0)
        }
    }

    // MARK: read_committed

    /// Flow: 1. producer A writes offsets 0-1 in a transaction and aborts it (ABORT marker at 2); a plain record at 3;
    /// producer B opens a transaction at 4; a plain record at 5. 2. read_committed: last stable offset 4 (B's first
    /// offset), high watermark 6; the records stop below 4 and the aborted list names A from offset 0, so the
    /// consumer drops 0-1 and keeps 3; read_uncommitted sees everything to 6 and gets no list. 3. A read_committed
    /// fetch parked at the LSO is answered when B commits (the marker wakes it): 4 and 5 with an empty aborted list.
    @Test(arguments: [Int16(4), 12, 17])
    func readCommittedStopsAtTheLastStableOffsetAndListsAbortedTransactions(version: Int16) async throws {
        try await H.withBroker { broker in
            let id = try await broker.createTopic("rc")
            let name = version >= 13 ? "" : "rc"
            var aborted = try await broker.initTransactions("tx-aborted")
            #expect(try await broker.addPartitions(aborted, "rc") == [0])
            #expect(try await broker.produce(&aborted, "rc", ["a1", "a2"]).baseOffset == 0)
            #expect(try await broker.endTransaction(aborted, commit: false) == 0)
            #expect(try await broker.append("rc", ["plain"]) == 3)
            var open = try await broker.initTransactions("tx-open")
            #expect(try await broker.addPartitions(open, "rc") == [0])
            #expect(try await broker.produce(&open, "rc", ["o1"]).baseOffset == 4)
            #expect(try await broker.append("rc", ["late"]) == 5)

            let committed = try #require(
                try await broker.fetch(
                    H.fetchRequest([.init(topic: name, topicID: id)], isolationLevel: 1), version: version
                ).data("rc", id: id))
            #expect(committed.errorCode == 0)
            #expect(committed.highWatermark == 6)
            #expect(committed.lastStableOffset == 4)
            let visible = try H.records(in: committed.records)
            #expect(visible.map(\.description) == ["0:a1", "1:a2", "3:plain"])
            #expect(try H.batches(in: committed.records).map(\.lastOffset).max() ?? -1 < 4)
            #expect(committed.abortedTransactions == [.init(producerID: aborted.producerID, firstOffset: 0)])
            #expect(try H.committedRecords(committed).map(\.description) == ["3:plain"])

            let uncommitted = try #require(
                try await broker.fetch(
                    H.fetchRequest([.init(topic: name, topicID: id)], isolationLevel: 0), version: version
                ).data("rc", id: id))
            #expect(
                try H.records(in: uncommitted.records).map(\.description) == [
                    "0:a1", "1:a2", "3:plain", "4:o1", "5:late",
                ])
            #expect(uncommitted.lastStableOffset == 4)
            #expect(uncommitted.abortedTransactions == nil)

            let atStable = try #require(
                try await broker.fetch(
                    H.fetchRequest([.init(topic: name, topicID: id, offset: 4)], isolationLevel: 1), version: version
                ).data("rc", id: id))
            #expect(atStable.errorCode == 0)
            #expect((atStable.records?.readableBytes ?? 0) == 0)

            let parked = try broker.startFetch(
                H.fetchRequest(
                    [.init(topic: name, topicID: id, offset: 4)], maxWaitMs: 30_000, minBytes: 1, isolationLevel: 1),
                version: version
            )
            try await broker.waitUntil("the read_committed fetch is parked") { broker.parkedFetches == 1 }
            let started = ContinuousClock.now
            #expect(try await broker.endTransaction(open, commit: true) == 0)
            let woken = try #require(
                try await broker.fetchResponse(of: parked, version: version, within: .seconds(10)).data("rc", id: id))
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(woken.lastStableOffset == 7)
            #expect(woken.highWatermark == 7)
            #expect(try H.records(in: woken.records).map(\.description) == ["4:o1", "5:late"])
            #expect(woken.abortedTransactions == [])
        }
    }
}

extension EventLoopFuture {
    /// Whether the future has completed by the time a task queued now on its event loop runs (a callback added on
    /// the loop to a completed future runs at once). Meaningful to assert that it has not completed yet.
    func isCompleted() async throws -> Bool {
        try await eventLoop.submit {
            let completed = NIOLockedValueBox(false)
            self.whenComplete { _ in completed.withLockedValue { $0 = true } }
            return completed.withLockedValue { $0 }
        }.get()
    }
}
