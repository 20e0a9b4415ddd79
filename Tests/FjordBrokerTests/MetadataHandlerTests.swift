import FjordController
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// Metadata through `MetadataHandler` with the broker's services: the cluster a client bootstraps from, topics by
/// name and by id, and auto-creation as the broker setting and the request's flag decide.
@Suite struct MetadataHandlerTests {
    private typealias H = BrokerHarness

    private func metadata(_ broker: BrokerHarness, _ request: MetadataRequest, version: Int16) async throws
        -> MetadataResponse
    {
        try await broker.call(
            MetadataHandler(metadata: broker.services.metadata.publisher, services: broker.services), request,
            version: version)
    }

    private func named(_ names: [String], allowAutoTopicCreation: Bool = true) -> MetadataRequest {
        MetadataRequest(topics: names.map { .init(name: $0) }, allowAutoTopicCreation: allowAutoTopicCreation)
    }

    /// Flow: two topics; "all topics" (an empty list in v0, null from v1) lists both with their partitions — leader,
    /// leader epoch, replicas and ISR of the single node —, the broker with its advertised address, the cluster id
    /// (v2+) and controller (v1+), and topic ids (v10+). Internal topics are listed too, marked internal.
    @Test(arguments: [Int16(0), 1, 4, 9, 10, 12])
    func allTopics(version: Int16) async throws {
        try await H.withBroker { broker in
            let idA = try await broker.createTopic("a", partitions: 2)
            let idB = try await broker.createTopic("b")
            let response = try await metadata(
                broker, MetadataRequest(topics: version == 0 ? [] : nil), version: version)
            #expect(response.brokers == [.init(nodeID: 1, host: "127.0.0.1", port: 9092, rack: nil)])
            if version >= 1 { #expect(response.controllerID == 1) }
            if version >= 2 { #expect(response.clusterID == "harness-cluster") }
            #expect(response.topics.map(\.name) == ["a", "b"])
            #expect(response.topics.map(\.errorCode) == [0, 0])
            let a = try #require(response.topics.first)
            #expect(a.partitions.map(\.partitionIndex) == [0, 1])
            for partition in a.partitions {
                #expect(partition.errorCode == 0)
                #expect(partition.leaderID == 1)
                #expect(partition.replicaNodes == [1])
                #expect(partition.isrNodes == [1])
                if version >= 7 { #expect(partition.leaderEpoch == 0) }
            }
            if version >= 10 { #expect(response.topics.map(\.topicID) == [idA, idB]) }

            let found = try await broker.call(
                FindCoordinatorHandler(services: broker.services), FindCoordinatorRequest(key: "g", keyType: 0),
                version: 3)
            #expect(found.errorCode == 0)
            let withInternal = try await metadata(
                broker, MetadataRequest(topics: version == 0 ? [] : nil), version: version)
            #expect(withInternal.topics.map(\.name) == ["__consumer_offsets", "a", "b"])
            if version >= 1 { #expect(withInternal.topics.map(\.isInternal) == [true, false, false]) }
            #expect(withInternal.topics.first?.partitions.count == 3)  // offsets.topic.num.partitions of the harness
        }
    }

    /// Flow (auto-creation off): named topics are answered in the order asked; an unknown one is
    /// UNKNOWN_TOPIC_OR_PARTITION, an invalid name INVALID_TOPIC_EXCEPTION; neither is created.
    @Test func namedTopicsWithoutAutoCreation() async throws {
        try await H.withBroker([("auto.create.topics.enable", "false")]) { broker in
            try await broker.createTopic("b", partitions: 3)
            let response = try await metadata(broker, named(["missing", "b", "bad name!"]), version: 12)
            #expect(response.topics.map(\.name) == ["missing", "b", "bad name!"])
            #expect(
                response.topics.map(\.errorCode) == [
                    ErrorCode.unknownTopicOrPartition.rawValue, 0, ErrorCode.invalidTopicException.rawValue,
                ])
            #expect(response.topics[1].partitions.count == 3)
            #expect(response.topics[0].partitions.isEmpty)
            #expect(broker.image.topicNames == ["b"])
        }
    }

    /// Flow (auto.create.topics.enable, num.partitions 3): a named unknown topic with allow_auto_topic_creation is
    /// created before the answer, which already describes it (Kafka answers LEADER_NOT_AVAILABLE until it is ready;
    /// Fjord's single node makes it ready first); without the flag (v4+) it is UNKNOWN_TOPIC_OR_PARTITION and not
    /// created; v0-v3 have no flag and always allow it; an invalid name is never created.
    @Test func autoCreationFollowsTheBrokerAndTheRequest() async throws {
        try await H.withBroker([("num.partitions", "3")]) { broker in
            let created = try await metadata(broker, named(["fresh"]), version: 12)
            let fresh = try #require(created.topics.first)
            #expect(fresh.errorCode == 0)
            #expect(fresh.name == "fresh")
            #expect(fresh.partitions.count == 3)
            #expect(fresh.topicID != .zero)
            #expect(broker.image.topic(named: "fresh")?.topicID == fresh.topicID)
            #expect(broker.services.replicas.replica(for: .init("fresh", 2)) != nil)

            let refused = try await metadata(broker, named(["not-asked"], allowAutoTopicCreation: false), version: 12)
            #expect(refused.topics.map(\.errorCode) == [ErrorCode.unknownTopicOrPartition.rawValue])
            #expect(broker.image.topic(named: "not-asked") == nil)

            let old = try await metadata(broker, named(["old-client"], allowAutoTopicCreation: false), version: 3)
            #expect(old.topics.map(\.errorCode) == [0])
            #expect(broker.image.topic(named: "old-client") != nil)

            let invalid = try await metadata(broker, named(["no/slashes"]), version: 12)
            #expect(invalid.topics.map(\.errorCode) == [ErrorCode.invalidTopicException.rawValue])
            #expect(broker.image.topic(named: "no/slashes") == nil)
        }
        try await H.withBroker([("auto.create.topics.enable", "false")]) { broker in
            let response = try await metadata(broker, named(["fresh"]), version: 12)
            #expect(response.topics.map(\.errorCode) == [ErrorCode.unknownTopicOrPartition.rawValue])
            #expect(broker.image.topic(named: "fresh") == nil)
        }
    }

    /// Flow (v10+): topics asked for by id are described with their names; an unknown id is UNKNOWN_TOPIC_ID (with
    /// a null name from v12) and is never auto-created.
    @Test(arguments: [Int16(10), 12])
    func topicsByID(version: Int16) async throws {
        try await H.withBroker { broker in
            let id = try await broker.createTopic("by-id", partitions: 2)
            let unknown = KafkaUUID(high: 9, low: 9)
            let response = try await metadata(
                broker,
                MetadataRequest(topics: [
                    .init(topicID: id, name: version >= 12 ? nil : ""),
                    .init(topicID: unknown, name: version >= 12 ? nil : ""),
                ]), version: version)
            #expect(response.topics.count == 2)
            #expect(response.topics[0].errorCode == 0)
            #expect(response.topics[0].name == "by-id")
            #expect(response.topics[0].topicID == id)
            #expect(response.topics[0].partitions.count == 2)
            #expect(response.topics[1].errorCode == ErrorCode.unknownTopicID.rawValue)
            #expect(response.topics[1].topicID == unknown)
            if version >= 12 { #expect(response.topics[1].name == nil) }
            #expect(broker.image.topicNames == ["by-id"])
        }
    }
}
