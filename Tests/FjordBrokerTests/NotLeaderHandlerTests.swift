import FjordController
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// KIP-951 on the wire: a Produce or Fetch for a partition another broker leads answers NOT_LEADER_OR_FOLLOWER with
/// the current leader and its endpoint (the versions that carry them), so the client moves at once.
@Suite struct NotLeaderHandlerTests {
    private typealias H = BrokerHarness
    static let topicID = KafkaUUID(high: 7, low: 7)

    /// The image as if broker 2 had registered and the controller had placed "elsewhere" partition 0 on it (leader
    /// epoch 4); this node hosts no replica of it.
    static func placeOnBrokerTwo(_ broker: BrokerHarness) {
        broker.services.metadata.updateImage { image in
            image.replay(
                .registerBroker(
                    RegisterBrokerRecord(
                        brokerID: 2, incarnationID: KafkaUUID(high: 2, low: 2), brokerEpoch: 100,
                        endPoints: [.init(name: "PLAINTEXT", host: "127.0.0.1", port: 9002)], rack: "r2",
                        fenced: false)),
                offset: 100)
            image.replay(.topic(TopicRecord(name: "elsewhere", topicID: topicID)), offset: 101)
            image.replay(
                .partition(
                    PartitionRecord(
                        partitionID: 0, topicID: topicID, replicas: [2], isr: [2], leader: 2, leaderEpoch: 4,
                        partitionEpoch: 0)),
                offset: 102)
        }
    }

    @Test(arguments: [Int16(9), 10, 11])
    func produceNamesTheCurrentLeader(version: Int16) async throws {
        try await H.withBroker { broker in
            Self.placeOnBrokerTwo(broker)
            let request = ProduceRequest(
                acks: -1, timeoutMs: 30_000,
                topicData: [.init(name: "elsewhere", partitionData: [.init(index: 0, records: H.batch(["x"]))])])
            let response = try await broker.call(ProduceHandler(services: broker.services), request, version: version)
            let answer = try #require(response.responses.first?.partitionResponses.first)
            #expect(answer.errorCode == ErrorCode.notLeaderOrFollower.rawValue)
            if version >= 10 {
                #expect(answer.currentLeader == .init(leaderID: 2, leaderEpoch: 4))
                #expect(response.nodeEndpoints == [.init(nodeID: 2, host: "127.0.0.1", port: 9002, rack: "r2")])
            } else {
                #expect(response.nodeEndpoints.isEmpty)
            }
        }
    }

    @Test(arguments: [Int16(11), 12, 16, 17])
    func fetchNamesTheCurrentLeader(version: Int16) async throws {
        try await H.withBroker { broker in
            Self.placeOnBrokerTwo(broker)
            let name = version >= 13 ? "" : "elsewhere"
            let response = try await broker.fetch(
                H.fetchRequest([.init(topic: name, topicID: Self.topicID, partition: 0)]), version: version)
            let answer = try #require(response.data("elsewhere", id: Self.topicID, partition: 0))
            #expect(answer.errorCode == ErrorCode.notLeaderOrFollower.rawValue)
            #expect(answer.currentLeader == (version >= 12 ? .init(leaderID: 2, leaderEpoch: 4) : .init()))
            let expected: [FetchResponse.NodeEndpoint] =
                version >= 16 ? [.init(nodeID: 2, host: "127.0.0.1", port: 9002, rack: "r2")] : []
            #expect(response.nodeEndpoints == expected)
        }
    }
}
