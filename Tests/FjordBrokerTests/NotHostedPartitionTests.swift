import FjordController
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// A ListOffsets, OffsetForLeaderEpoch or DeleteRecords for a partition that exists in the cluster but on another
/// broker answers NOT_LEADER_OR_FOLLOWER (the client refreshes its metadata and goes to the leader), as Kafka's
/// `ReplicaManager.getPartitionOrException` does; only a partition the image does not know is
/// UNKNOWN_TOPIC_OR_PARTITION. (Found by librdkafka's conformance tests against a 3-node cluster: a client with stale
/// metadata was told the partition did not exist.)
@Suite struct NotHostedPartitionTests {
    private typealias H = BrokerHarness

    @Test func listOffsetsOfAPartitionLedElsewhere() async throws {
        try await H.withBroker { broker in
            NotLeaderHandlerTests.placeOnBrokerTwo(broker)
            let request = ListOffsetsRequest(
                replicaID: -1,
                topics: [
                    .init(
                        name: "elsewhere",
                        partitions: [.init(partitionIndex: 0, timestamp: -1), .init(partitionIndex: 7, timestamp: -1)])
                ])
            let response = try await broker.call(ListOffsetsHandler(services: broker.services), request, version: 7)
            let codes = response.topics.first?.partitions.map(\.errorCode)
            #expect(codes == [ErrorCode.notLeaderOrFollower.rawValue, ErrorCode.unknownTopicOrPartition.rawValue])
        }
    }

    @Test func offsetForLeaderEpochOfAPartitionLedElsewhere() async throws {
        try await H.withBroker { broker in
            NotLeaderHandlerTests.placeOnBrokerTwo(broker)
            let request = OffsetForLeaderEpochRequest(
                replicaID: -1,
                topics: [
                    .init(
                        topic: "elsewhere",
                        partitions: [.init(partition: 0, leaderEpoch: 4), .init(partition: 7, leaderEpoch: 4)])
                ])
            let response = try await broker.call(
                OffsetForLeaderEpochHandler(services: broker.services), request, version: 4)
            let codes = response.topics.first?.partitions.map(\.errorCode)
            #expect(codes == [ErrorCode.notLeaderOrFollower.rawValue, ErrorCode.unknownTopicOrPartition.rawValue])
        }
    }

    @Test func deleteRecordsOfAPartitionLedElsewhere() async throws {
        try await H.withBroker { broker in
            NotLeaderHandlerTests.placeOnBrokerTwo(broker)
            let request = DeleteRecordsRequest(
                topics: [
                    .init(
                        name: "elsewhere",
                        partitions: [.init(partitionIndex: 0, offset: 0), .init(partitionIndex: 7, offset: 0)])
                ],
                timeoutMs: 10_000)
            let response = try await broker.call(DeleteRecordsHandler(services: broker.services), request, version: 2)
            let codes = response.topics.first?.partitions.map(\.errorCode)
            #expect(codes == [ErrorCode.notLeaderOrFollower.rawValue, ErrorCode.unknownTopicOrPartition.rawValue])
        }
    }
}
