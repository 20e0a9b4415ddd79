import FjordController
import KafkaProtocol
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import FjordBroker

/// Flow (each test):
/// 1. An `EmbeddedChannel` with the broker's pipeline: frame decoder → connection handler, a registry with
///    ApiVersions and Metadata as `Broker` builds it.
/// 2. Write request frames as a client would, read the response frames back and decode them.
@Suite struct KafkaConnectionHandlerTests {
    private func makeChannel() throws -> EmbeddedChannel {
        var image = MetadataImage(
            clusterID: "test-cluster", controllerID: 1,
            brokers: [.init(nodeID: 1, host: "127.0.0.1", port: 9092, rack: nil)]
        )
        let topicID = KafkaUUID(high: 1, low: 2)
        image.replay(.topic(TopicRecord(name: "orders", topicID: topicID)))
        image.replay(.partition(PartitionRecord(partitionID: 0, topicID: topicID, replicas: [1], isr: [1], leader: 1)))
        var registry = APIRegistry()
        registry.register(MetadataHandler(metadata: MetadataPublisher(image)))
        return try EmbeddedConnection.make(registry: registry)
    }

    private func send<R: KafkaRequest>(_ request: R, version: Int16, correlationID: Int32, on channel: EmbeddedChannel)
        throws
    {
        var frame = ByteBuffer()
        frame.writeInteger(Int32(0))
        RequestHeader(
            requestApiKey: R.apiKey.rawValue, requestApiVersion: version, correlationID: correlationID, clientID: "test"
        )
        .write(to: &frame, version: R.requestHeaderVersion(for: version))
        request.write(to: &frame, version: version)
        frame.setInteger(Int32(frame.readableBytes - 4), at: 0)
        try channel.writeInbound(frame)
    }

    private func receive<Response: KafkaVersionedMessage>(
        _ type: Response.Type, version: Int16, headerVersion: Int16, on channel: EmbeddedChannel
    ) throws -> (correlationID: Int32, response: Response) {
        let outbound = try channel.readOutbound(as: ByteBuffer.self)
        var frame = try #require(outbound)
        let sizePrefix = frame.readInteger(as: Int32.self)
        let size = try #require(sizePrefix)
        #expect(Int(size) == frame.readableBytes)
        let header = try ResponseHeader(from: &frame, version: headerVersion)
        return (header.correlationID, try Response.decodeWhole(from: frame, version: version))
    }

    @Test(arguments: ApiVersionsRequest.validVersions)
    func apiVersionsListsTheRegistryAtEveryVersion(version: Int16) throws {
        let channel = try makeChannel()
        try send(
            ApiVersionsRequest(clientSoftwareName: "fjord-test", clientSoftwareVersion: "1.0"), version: version,
            correlationID: 5, on: channel)
        let (correlationID, response) = try receive(
            ApiVersionsResponse.self, version: version, headerVersion: 0, on: channel)
        #expect(correlationID == 5)
        #expect(response.errorCode == ErrorCode.none.rawValue)
        // this registry's two
        #expect(response.apiKeys.map(\.apiKey) == [ApiKey.metadata.rawValue, ApiKey.apiVersions.rawValue])
        #expect(response.apiKeys.first { $0.apiKey == 18 }?.maxVersion == 4)
        #expect(response.apiKeys.first { $0.apiKey == 3 }.map { $0.minVersion...$0.maxVersion } == 0...12)
    }

    @Test func unsupportedApiVersionsVersionIsAnsweredInV0() throws {
        let channel = try makeChannel()
        // A client newer than the broker sends v9 (flexible header); the answer must be readable as v0.
        try send(
            ApiVersionsRequest(clientSoftwareName: "future", clientSoftwareVersion: "9"), version: 9, correlationID: 11,
            on: channel)
        let (correlationID, response) = try receive(ApiVersionsResponse.self, version: 0, headerVersion: 0, on: channel)
        #expect(correlationID == 11)
        #expect(response.errorCode == ErrorCode.unsupportedVersion.rawValue)
        #expect(response.apiKeys.contains { $0.apiKey == 18 && $0.maxVersion == 4 })
        #expect(channel.isActive)
    }

    @Test func malformedSoftwareNameIsAnInvalidRequest() throws {
        let channel = try makeChannel()
        try send(
            ApiVersionsRequest(clientSoftwareName: "-bad name", clientSoftwareVersion: "1"), version: 3,
            correlationID: 1, on: channel)
        let (_, response) = try receive(ApiVersionsResponse.self, version: 3, headerVersion: 0, on: channel)
        #expect(response.errorCode == ErrorCode.invalidRequest.rawValue)
    }

    @Test(arguments: MetadataRequest.validVersions)
    func metadataListsTheBrokerAndKnownTopics(version: Int16) throws {
        let channel = try makeChannel()
        var request = MetadataRequest()
        request.topics = version == 0 ? [] : nil  // every topic
        try send(request, version: version, correlationID: 3, on: channel)
        let (correlationID, response) = try receive(
            MetadataResponse.self, version: version, headerVersion: MetadataRequest.responseHeaderVersion(for: version),
            on: channel
        )
        #expect(correlationID == 3)
        #expect(response.brokers.map(\.nodeID) == [1])
        #expect(response.brokers.first?.port == 9092)
        #expect(response.topics.map(\.name) == ["orders"])
        #expect(response.topics.first?.partitions.first?.leaderID == 1)
        if version >= 2 { #expect(response.clusterID == "test-cluster") }
        if version >= 1 { #expect(response.controllerID == 1) }
        if version >= 10 { #expect(response.topics.first?.topicID == KafkaUUID(high: 1, low: 2)) }
    }

    @Test func metadataReportsUnknownAndInvalidTopicsAndIDs() throws {
        let channel = try makeChannel()
        let request = MetadataRequest(topics: [
            .init(name: "missing"), .init(name: "bad/name"), .init(topicID: KafkaUUID(high: 9, low: 9), name: nil),
        ])
        try send(request, version: 12, correlationID: 4, on: channel)
        let (_, response) = try receive(MetadataResponse.self, version: 12, headerVersion: 1, on: channel)
        #expect(
            response.topics.map(\.errorCode) == [
                ErrorCode.unknownTopicOrPartition.rawValue, ErrorCode.invalidTopicException.rawValue,
                ErrorCode.unknownTopicID.rawValue,
            ])
    }

    @Test func responsesKeepRequestOrder() throws {
        let channel = try makeChannel()
        for correlationID in Int32(1)...5 {
            try send(MetadataRequest(topics: []), version: 9, correlationID: correlationID, on: channel)
        }
        for correlationID in Int32(1)...5 {
            #expect(
                try receive(MetadataResponse.self, version: 9, headerVersion: 1, on: channel).correlationID
                    == correlationID)
        }
    }

    @Test func unservedApiClosesTheConnection() throws {
        let channel = try makeChannel()
        try send(ProduceRequest(acks: 1, timeoutMs: 100), version: 9, correlationID: 1, on: channel)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(!channel.isActive)
    }

    @Test func unknownApiKeyAndUnsupportedVersionCloseTheConnection() throws {
        for (key, version) in [(Int16(999), Int16(0)), (ApiKey.metadata.rawValue, Int16(13))] {
            let channel = try makeChannel()
            var frame = ByteBuffer()
            frame.writeInteger(Int32(10))
            frame.writeInteger(key)
            frame.writeInteger(version)
            frame.writeInteger(Int32(1))
            frame.writeInteger(Int16(-1))  // null client id
            try channel.writeInbound(frame)
            #expect(!channel.isActive, "key \(key) v\(version)")
        }
    }

    @Test func truncatedBodyClosesTheConnection() throws {
        let channel = try makeChannel()
        var frame = ByteBuffer()
        frame.writeInteger(Int32(0))
        RequestHeader(requestApiKey: 3, requestApiVersion: 1, correlationID: 1, clientID: "x").write(
            to: &frame, version: 1)
        frame.writeInteger(Int32(5))  // five topics announced, none follow
        frame.setInteger(Int32(frame.readableBytes - 4), at: 0)
        try channel.writeInbound(frame)
        #expect(!channel.isActive)
    }
}
