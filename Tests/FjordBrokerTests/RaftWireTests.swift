import FjordRaft
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordBroker

/// The Raft RPCs on the wire: every message of the core goes through the generated Kafka types and comes back
/// equal, pre-vote included; batches are Kafka record batches with the right offsets, epochs and control keys; and
/// requests for anything but `__cluster_metadata-0` are refused with Kafka's codes.
@Suite struct RaftWireTests {
    private let directory = KafkaUUID(high: 7, low: 9)

    private func batches() -> [RaftBatch] {
        let change = LeaderChangeMessage(
            version: 0, leaderID: 2, voters: [.init(voterID: 1), .init(voterID: 2)], grantingVoters: [.init(voterID: 2)]
        )
        let voters = VotersRecord(voters: [VotersRecord.Voter(voterID: 1), VotersRecord.Voter(voterID: 2)])
        return [
            RaftBatch(
                baseOffset: 10, epoch: 3, appendTimeMs: 1_700_000_000_000,
                records: [.leaderChange(change), .kraftVersion(KRaftVersionRecord(kRaftVersion: 1)), .voters(voters)]),
            RaftBatch(
                baseOffset: 13, epoch: 3, appendTimeMs: 1_700_000_000_001,
                records: [.data(ByteBuffer(string: "a")), .data(ByteBuffer(string: "bc"))]),
        ]
    }

    /// Flow: 1. encode two batches; 2. each is one v2 record batch with the batch's offset and epoch, the control
    /// one flagged with Kafka's control keys; 3. decoding gives the batches back.
    @Test func batchesAreKafkaRecordBatches() throws {
        let original = batches()
        let bytes = try RaftBatchCodec.encode(original)
        let records = try RecordBatchSequence(bytes, mode: .produce).batches()
        #expect(records.map(\.baseOffset) == [10, 13])
        #expect(records.map(\.partitionLeaderEpoch) == [3, 3])
        #expect(records.map(\.isControl) == [true, false])
        let keys = try records[0].records().map { try ControlRecordType(parsingKey: $0.key) }
        #expect(keys == [.leaderChange, .kraftVersion, .kraftVoters])
        #expect(try RaftBatchCodec.decodeAll(bytes, source: "test") == original)
    }

    /// A transaction marker has no place in the metadata log: refused as corrupt, not taken for data.
    @Test func aForeignControlRecordIsRefused() throws {
        var options = RecordBatchBuilder.Options()
        options.isControl = true
        var builder = RecordBatchBuilder(options: options)
        builder.append(timestamp: 0, key: ControlRecordType.commit.key, value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
        let bytes = try builder.build().buffer
        #expect(throws: RaftDriverError.self) { try RaftBatchCodec.decodeAll(bytes, source: "test") }
    }

    /// Flow: 1. encode a request of the core at the outbound version; 2. decode the bytes as Kafka's request;
    /// 3. translate back: equal to the original.
    @Test(arguments: [false, true]) func voteRoundTrips(preVote: Bool) throws {
        let vote = RaftMessage.VoteRequest(
            correlationID: 5, clusterID: "c", candidateEpoch: 4, candidateID: 2, candidateDirectoryID: directory,
            voterID: 3, voterDirectoryID: nil, lastOffsetEpoch: 3, lastOffset: 99, preVote: preVote)
        let outbound = try #require(try RaftWire.encodeRequest(.voteRequest(vote)))
        let wire = try VoteRequest.decodeWhole(from: outbound.body, version: outbound.version)
        #expect(try RaftWire.message(wire, correlationID: 5) == vote)
        let answer = RaftMessage.VoteResponse(correlationID: 5, leaderID: nil, leaderEpoch: 4, voteGranted: true)
        let response = RaftWire.wire(answer).encoded(version: 1)
        #expect(
            try RaftWire.decodeResponse(apiKey: .vote, version: 1, body: response, correlationID: 5)
                == .voteResponse(answer))
    }

    @Test func quorumEpochMessagesRoundTrip() throws {
        let begin = RaftMessage.BeginQuorumEpochRequest(
            correlationID: 1, clusterID: "c", voterID: 3, voterDirectoryID: directory, leaderID: 2, leaderEpoch: 6)
        let beginOut = try #require(try RaftWire.encodeRequest(.beginQuorumEpochRequest(begin)))
        #expect(
            try RaftWire.message(
                BeginQuorumEpochRequest.decodeWhole(from: beginOut.body, version: beginOut.version), correlationID: 1)
                == begin)
        let end = RaftMessage.EndQuorumEpochRequest(
            correlationID: 2, clusterID: "c", leaderID: 2, leaderEpoch: 6,
            preferredCandidates: [ReplicaKey(id: 3, directoryID: directory), ReplicaKey(id: 1)])
        let endOut = try #require(try RaftWire.encodeRequest(.endQuorumEpochRequest(end)))
        let endWire = try EndQuorumEpochRequest.decodeWhole(from: endOut.body, version: endOut.version)
        #expect(try RaftWire.message(endWire, correlationID: 2, version: 1) == end)
        // v0 carries the successors' ids only.
        let endV0 = try EndQuorumEpochRequest.decodeWhole(from: RaftWire.wire(end).encoded(version: 0), version: 0)
        #expect(
            try RaftWire.message(endV0, correlationID: 2, version: 0).preferredCandidates
                == [ReplicaKey(id: 3), ReplicaKey(id: 1)])
        let answer = RaftMessage.EndQuorumEpochResponse(
            correlationID: 2, partitionErrorCode: .fencedLeaderEpoch, leaderID: 1, leaderEpoch: 7)
        #expect(
            try RaftWire.decodeResponse(
                apiKey: .endQuorumEpoch, version: 1, body: RaftWire.wire(answer).encoded(version: 1), correlationID: 2)
                == .endQuorumEpochResponse(answer))
    }

    @Test func fetchRoundTripsWithBatchesDivergenceAndSnapshots() throws {
        let request = RaftMessage.FetchRequest(
            correlationID: 8, clusterID: "c", replicaID: 3, replicaDirectoryID: directory, maxWaitMs: 500,
            maxBytes: 1 << 20, currentLeaderEpoch: 3, fetchOffset: 10, lastFetchedEpoch: 2, logStartOffset: 0)
        let outbound = try #require(try RaftWire.encodeRequest(.fetchRequest(request)))
        #expect(outbound.version == 17)
        let wire = try FetchRequest.decodeWhole(from: outbound.body, version: 17)
        #expect(try RaftWire.message(wire, correlationID: 8, version: 17) == request)
        let answers = [
            RaftMessage.FetchResponse(
                correlationID: 8, highWatermark: 13, logStartOffset: 0,
                currentLeader: LeaderAndEpoch(leaderID: 2, epoch: 3), batches: batches()),
            RaftMessage.FetchResponse(
                correlationID: 8, highWatermark: 9, logStartOffset: 0,
                divergingEpoch: OffsetAndEpoch(offset: 7, epoch: 2),
                currentLeader: LeaderAndEpoch(leaderID: 2, epoch: 3)),
            RaftMessage.FetchResponse(
                correlationID: 8, partitionErrorCode: .none, highWatermark: 90, logStartOffset: 80,
                currentLeader: LeaderAndEpoch(leaderID: 2, epoch: 3), snapshotID: OffsetAndEpoch(offset: 80, epoch: 3)),
            RaftMessage.FetchResponse(
                correlationID: 8, errorCode: .inconsistentClusterID, highWatermark: -1, logStartOffset: -1,
                currentLeader: LeaderAndEpoch(leaderID: nil, epoch: -1)),
        ]
        for answer in answers {
            let body = try RaftWire.wire(answer).encoded(version: 17)
            let decoded = try RaftWire.decodeResponse(apiKey: .fetch, version: 17, body: body, correlationID: 8)
            guard case .fetchResponse(let back) = decoded else {
                Issue.record("not a fetch response: \(decoded)")
                continue
            }
            if answer.errorCode == .none {
                #expect(back == answer)
            } else {
                #expect(back.errorCode == answer.errorCode)
            }
        }
    }

    @Test func fetchSnapshotRoundTrips() throws {
        let request = RaftMessage.FetchSnapshotRequest(
            correlationID: 4, clusterID: "c", replicaID: 3, replicaDirectoryID: nil, maxBytes: 4096,
            currentLeaderEpoch: 5, snapshotID: OffsetAndEpoch(offset: 100, epoch: 4), position: 4096)
        let outbound = try #require(try RaftWire.encodeRequest(.fetchSnapshotRequest(request)))
        #expect(
            try RaftWire.message(
                FetchSnapshotRequest.decodeWhole(from: outbound.body, version: outbound.version), correlationID: 4)
                == request)
        let answer = RaftMessage.FetchSnapshotResponse(
            correlationID: 4, snapshotID: OffsetAndEpoch(offset: 100, epoch: 4),
            currentLeader: LeaderAndEpoch(leaderID: 2, epoch: 5), size: 5000, position: 4096,
            unalignedRecords: ByteBuffer(repeating: 7, count: 904))
        #expect(
            try RaftWire.decodeResponse(
                apiKey: .fetchSnapshot, version: 1, body: RaftWire.wire(answer).encoded(version: 1), correlationID: 4)
                == .fetchSnapshotResponse(answer))
    }

    /// Another partition is UNKNOWN_TOPIC_OR_PARTITION; two partitions, or none, INVALID_REQUEST.
    @Test func requestsForOtherPartitionsAreRefused() {
        var vote = RaftWire.wire(
            RaftMessage.VoteRequest(
                correlationID: 1, clusterID: nil, candidateEpoch: 1, candidateID: 1, candidateDirectoryID: nil,
                voterID: 2, voterDirectoryID: nil, lastOffsetEpoch: 0, lastOffset: 0, preVote: false))
        vote.topics[0].partitions[0].partitionIndex = 1
        #expect(throws: RaftWire.Refusal.partition(.unknownTopicOrPartition)) {
            try RaftWire.message(vote, correlationID: 1)
        }
        vote.topics[0].partitions.append(vote.topics[0].partitions[0])
        #expect(throws: RaftWire.Refusal.topLevel(.invalidRequest)) { try RaftWire.message(vote, correlationID: 1) }
        vote.topics = []
        #expect(throws: RaftWire.Refusal.topLevel(.invalidRequest)) { try RaftWire.message(vote, correlationID: 1) }
        let refusal = RaftWire.voteRefusal(.partition(.unknownTopicOrPartition))
        #expect(refusal.topics.first?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
    }
}
