import FjordReplication
import Foundation
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import FjordBroker

/// acks=all on a leader with followers (Kafka's `DelayedProduce`): the answer waits until the high watermark — the
/// smallest log end of the ISR — has passed the batch, i.e. until the followers fetched it. Driven by hand: the
/// partition is registered with broker 2 as a follower in the ISR, and "broker 2" fetches as a replica would
/// (`answerFollowerFetch`).
@Suite struct DelayedProduceTests {
    private typealias H = BrokerHarness

    /// "t" led by this broker (1) with broker 2 in the ISR, in leader epoch 1.
    private func ledWithFollower(_ broker: BrokerHarness, minInsync: String = "1") async throws -> PartitionReplica {
        _ = try await broker.createTopic("t", configs: ["min.insync.replicas": minInsync])
        let replica = try broker.replica("t")
        replica.applyRegistration(
            PartitionRegistration(
                leader: replica.localID, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1, 2]),
            localID: replica.localID, config: replica.config, lagTimeMaxMs: 30_000,
            now: PartitionReplica.replicationNow())
        return replica
    }

    private func produce(
        _ broker: BrokerHarness, _ values: [String], timeoutMs: Int32 = 30_000, producerID: Int64 = -1
    ) throws -> EventLoopFuture<ResponseBody?> {
        let records =
            producerID >= 0
            ? H.batch(values, producerID: producerID, producerEpoch: 0, baseSequence: 0) : H.batch(values)
        let request = ProduceRequest(
            acks: -1, timeoutMs: timeoutMs,
            topicData: [.init(name: "t", partitionData: [.init(index: 0, records: records)])])
        return try broker.start(ProduceHandler(services: broker.services), request, version: 9)
    }

    private func answer(_ broker: BrokerHarness, _ future: EventLoopFuture<ResponseBody?>) async throws
        -> ProduceResponse.PartitionProduceResponse
    {
        let body = try #require(try await broker.wait(future, within: .seconds(60), "Produce"))
        let response = try H.decode(body, as: ProduceResponse.self, version: 9)
        return try #require(response.responses.first?.partitionResponses.first)
    }

    private func followerFetch(_ replica: PartitionReplica, at offset: Int64) {
        let (answer, outputs) = replica.answerFollowerFetch(
            FollowerFetch(
                replicaID: 2, currentLeaderEpoch: 1, fetchOffset: offset, lastFetchedEpoch: nil, logStartOffset: 0),
            now: PartitionReplica.replicationNow())
        guard case .records = answer else {
            Issue.record("follower fetch answered \(answer)")
            return
        }
        _ = outputs
    }

    @Test func theAnswerWaitsUntilTheFollowerHasTheRecords() async throws {
        // Flow:
        // 1. acks=all of two records: appended at 0–1, but the answer does not come while the follower is at 0.
        // 2. The follower fetches at 2 (it has both): the high watermark moves to 2 and the answer comes, no error,
        //    base offset 0.
        try await H.withBroker { broker in
            let replica = try await ledWithFollower(broker)
            let pending = try produce(broker, ["a", "b"])
            try await broker.waitUntil("the append") { replica.log.logEndOffset == 2 }
            followerFetch(replica, at: 0)
            try await Task.sleep(for: .milliseconds(300))
            #expect(replica.highWatermark == 0)
            #expect(try await !completesSoon(pending), "acks=all answered before the follower had the records")
            followerFetch(replica, at: 2)
            #expect(replica.highWatermark == 2)
            let answered = try await answer(broker, pending)
            #expect(answered.errorCode == 0 && answered.baseOffset == 0)
            // Nothing of the answered produce stays registered on the partition, however often it is woken.
            for _ in 0..<3 { replica.wakeAll() }
            #expect(replica.state.withLockedValue { $0.waiters.isEmpty })
        }
    }

    @Test func aRetriedDuplicateWaitsForTheHighWatermarkToo() async throws {
        // Flow (found by test_replication_faults.py: a leader cut off from its followers acknowledged retries):
        // 1. An idempotent acks=all batch is appended at 0–1; no follower fetches; it times out
        //    (REQUEST_TIMED_OUT): written on the leader only.
        // 2. The producer retries the same batch: a duplicate, answered with its first offset — but not before the
        //    high watermark passes it (here: it times out again, as it must while the follower does not fetch).
        // 3. The follower fetches both records: the next retry is answered at once, no error, base offset 0.
        try await H.withBroker { broker in
            let replica = try await ledWithFollower(broker)
            let first = try await answer(broker, try produce(broker, ["a", "b"], timeoutMs: 300, producerID: 7))
            #expect(first.errorCode == ErrorCode.requestTimedOut.rawValue)
            #expect(replica.log.logEndOffset == 2)
            let retry = try await answer(broker, try produce(broker, ["a", "b"], timeoutMs: 300, producerID: 7))
            #expect(
                retry.errorCode == ErrorCode.requestTimedOut.rawValue,
                "a duplicate was acknowledged before any follower had it")
            #expect(replica.log.logEndOffset == 2, "the retry was appended again")
            followerFetch(replica, at: 2)
            let settled = try await answer(broker, try produce(broker, ["a", "b"], timeoutMs: 300, producerID: 7))
            #expect(settled.errorCode == 0 && settled.baseOffset == 0)
        }
    }

    @Test func aFollowerThatNeverFetchesMakesItTimeOut() async throws {
        try await H.withBroker { broker in
            _ = try await ledWithFollower(broker)
            let started = ContinuousClock.now
            let answered = try await answer(broker, try produce(broker, ["a"], timeoutMs: 300))
            #expect(answered.errorCode == ErrorCode.requestTimedOut.rawValue)
            #expect(ContinuousClock.now - started >= .milliseconds(250))
        }
    }

    @Test func aLeadershipMovedWhileWaitingAnswersNotLeader() async throws {
        try await H.withBroker { broker in
            let replica = try await ledWithFollower(broker)
            let pending = try produce(broker, ["a"])
            try await broker.waitUntil("the append") { replica.log.logEndOffset == 1 }
            replica.applyRegistration(
                PartitionRegistration(leader: 2, leaderEpoch: 2, partitionEpoch: 2, replicas: [1, 2], isr: [1, 2]),
                localID: replica.localID, config: replica.config, lagTimeMaxMs: 30_000,
                now: PartitionReplica.replicationNow())
            let answered = try await answer(broker, pending)
            #expect(answered.errorCode == ErrorCode.notLeaderOrFollower.rawValue)
        }
    }

    @Test func belowMinInsyncReplicasIsRefusedBeforeTheAppend() async throws {
        // min.insync.replicas 2 with the ISR shrunk to the leader alone: NOT_ENOUGH_REPLICAS, nothing appended.
        try await H.withBroker { broker in
            let replica = try await ledWithFollower(broker, minInsync: "2")
            replica.applyRegistration(
                PartitionRegistration(
                    leader: replica.localID, leaderEpoch: 1, partitionEpoch: 2, replicas: [1, 2], isr: [1]),
                localID: replica.localID, config: replica.config, lagTimeMaxMs: 30_000,
                now: PartitionReplica.replicationNow())
            let answered = try await answer(broker, try produce(broker, ["a"]))
            #expect(answered.errorCode == ErrorCode.notEnoughReplicas.rawValue)
            #expect(replica.log.logEndOffset == 0)
        }
    }

    /// Whether the future completed within a short while.
    private func completesSoon(_ future: EventLoopFuture<ResponseBody?>) async throws -> Bool {
        let completed = NIOLockedValueBox(false)
        future.whenComplete { _ in completed.withLockedValue { $0 = true } }
        try await Task.sleep(for: .milliseconds(200))
        return completed.withLockedValue { $0 }
    }
}

/// A coordinator's write to its internal topic (`InternalTopic.append`) is acknowledged as an acks=all produce is:
/// once every in-sync replica has it, so a committed offset or a transaction's state survives its leader's loss.
@Suite struct CoordinatorWriteReplicationTests {
    private typealias H = BrokerHarness

    @Test func aCoordinatorWriteReturnsOnlyOnceTheFollowerHasItAndTimesOutWithoutIt() async throws {
        // Flow:
        // 1. "t" led here with broker 2 in the ISR. A coordinator write (as the group coordinator appends an offset
        //    commit) does not return while broker 2 has not fetched it; broker 2 fetches: it returns NONE.
        // 2. A second write with a short replication timeout and no fetch: COORDINATOR_NOT_AVAILABLE (Kafka's
        //    answer when the ISR does not acknowledge in time).
        try await H.withBroker { broker in
            _ = try await broker.createTopic("t")
            let replica = try broker.replica("t")
            replica.applyRegistration(
                PartitionRegistration(
                    leader: replica.localID, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2], isr: [1, 2]),
                localID: replica.localID, config: replica.config, lagTimeMaxMs: 30_000,
                now: PartitionReplica.replicationNow())
            let topic = InternalTopic(
                name: "t", partitionCount: 1, replicationFactor: 2, segmentBytes: 1 << 20,
                metadata: broker.services.metadata, nodeID: replica.localID)
            let replicas = broker.services.replicas
            let record = [(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v") as ByteBuffer?)]
            let answer = NIOLockedValueBox<ErrorCode?>(nil)
            let writer = Thread {
                let result = topic.append(
                    record, to: 0, in: replicas, now: 1_700_000_000_000, logger: Logger(label: "fjord.test"))
                answer.withLockedValue { $0 = result }
            }
            writer.start()
            try await broker.waitUntil("the append") { replica.log.logEndOffset == 1 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(answer.withLockedValue { $0 } == nil, "the write returned before the follower had it")
            _ = replica.answerFollowerFetch(
                FollowerFetch(
                    replicaID: 2, currentLeaderEpoch: 1, fetchOffset: 1, lastFetchedEpoch: nil, logStartOffset: 0),
                now: PartitionReplica.replicationNow())
            try await broker.waitUntil("the write's answer") { answer.withLockedValue { $0 } != nil }
            #expect(answer.withLockedValue { $0 } == ErrorCode.none)

            let unreplicated = topic.append(
                record, to: 0, in: replicas, now: 1_700_000_000_000, replicationTimeout: .milliseconds(200),
                logger: Logger(label: "fjord.test"))
            #expect(unreplicated == .coordinatorNotAvailable)
        }
    }
}
