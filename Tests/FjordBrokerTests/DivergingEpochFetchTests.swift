import FjordStorage
import Foundation
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// KIP-320 on the leader: a Fetch (v12+) carries the epoch of the last batch the client read, and the leader checks
/// it against its own epochs (Kafka's `Partition.readRecords`) — for consumers as for followers. A client whose log
/// went past where that epoch ended here (after an unclean election, or a follower that led an epoch nobody else
/// saw) gets a DivergingEpoch with no records, at once even on a long poll; an epoch the leader cannot place gets
/// OFFSET_OUT_OF_RANGE; a client whose log is a prefix of the leader's reads as before.
@Suite struct DivergingEpochFetchTests {
    private typealias H = BrokerHarness

    /// "t": offsets 0–2 written in leader epoch 0, offsets 3–4 in epoch 2 (epochs 0@0, 2@3).
    private func twoEpochs(_ broker: BrokerHarness) async throws -> PartitionReplica {
        _ = try await broker.createTopic("t")
        try await broker.append("t", ["a", "b", "c"])
        let replica = try broker.replica("t")
        replica.update(leaderEpoch: 2, isLeader: true, config: replica.config)
        try await broker.append("t", ["d", "e"])
        #expect(replica.log.leaderEpochHistory.entries.map(\.epoch) == [0, 2])
        return replica
    }

    private func fetch(
        _ broker: BrokerHarness, offset: Int64, lastFetchedEpoch: Int32, leaderEpoch: Int32 = 2, version: Int16 = 12,
        maxWaitMs: Int32 = 0
    ) async throws -> FetchResponse.PartitionData {
        let request = H.fetchRequest(
            [.init(topic: "t", offset: offset, leaderEpoch: leaderEpoch, lastFetchedEpoch: lastFetchedEpoch)],
            maxWaitMs: maxWaitMs, minBytes: 1)
        return try #require(try await broker.fetch(request, version: version).data("t"))
    }

    @Test func aClientPastWhereItsLastEpochEndedGetsTheDivergingEpochAndNoRecords() async throws {
        try await H.withBroker { broker in
            _ = try await twoEpochs(broker)
            // Epoch 1 was never written here: the largest earlier epoch, 0, ended at 3.
            let unknownEpoch = try await fetch(broker, offset: 5, lastFetchedEpoch: 1)
            #expect(unknownEpoch.errorCode == 0)
            #expect(unknownEpoch.divergingEpoch == .init(epoch: 0, endOffset: 3))
            #expect(try H.records(in: unknownEpoch.records).isEmpty)
            #expect(unknownEpoch.highWatermark == 5)
            // Epoch 0 ended at 3: a client at 4 that last read epoch 0 holds an offset the leader wrote in epoch 2.
            let past = try await fetch(broker, offset: 4, lastFetchedEpoch: 0)
            #expect(past.divergingEpoch == .init(epoch: 0, endOffset: 3))
        }
    }

    @Test func aClientWhoseLogIsAPrefixReadsOn() async throws {
        try await H.withBroker { broker in
            _ = try await twoEpochs(broker)
            let atTheEpochsEnd = try await fetch(broker, offset: 3, lastFetchedEpoch: 0)
            #expect(atTheEpochsEnd.divergingEpoch.endOffset == -1 && atTheEpochsEnd.errorCode == 0)
            #expect(try H.records(in: atTheEpochsEnd.records).map(\.value) == ["d", "e"])
            let inTheLatest = try await fetch(broker, offset: 4, lastFetchedEpoch: 2)
            #expect(try H.records(in: inTheLatest.records).map(\.value) == ["d", "e"])  // the whole batch holding 4
            // Before v12 there is no last fetched epoch: nothing is checked.
            let old = try await fetch(broker, offset: 3, lastFetchedEpoch: 1, version: 11)
            #expect(old.errorCode == 0 && old.divergingEpoch.endOffset == -1)
            #expect(try H.records(in: old.records).map(\.value) == ["d", "e"])
        }
    }

    @Test func anEpochNewerThanEveryKnownOneIsOutOfRange() async throws {
        try await H.withBroker { broker in
            _ = try await twoEpochs(broker)
            let newer = try await fetch(broker, offset: 5, lastFetchedEpoch: 7, leaderEpoch: -1)
            #expect(newer.errorCode == ErrorCode.offsetOutOfRange.rawValue)
        }
    }

    @Test func aDivergingAnswerDoesNotWaitOutTheLongPoll() async throws {
        try await H.withBroker { broker in
            _ = try await twoEpochs(broker)
            let started = ContinuousClock.now
            let answer = try await fetch(broker, offset: 5, lastFetchedEpoch: 1, maxWaitMs: 30_000)
            #expect(answer.divergingEpoch == .init(epoch: 0, endOffset: 3))
            #expect(ContinuousClock.now - started < .seconds(20), "a diverging answer waited for the long poll")
        }
    }
}
