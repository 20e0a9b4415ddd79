import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Requests captured from a real client: librdkafka 2.16 (confluent-kafka 2.16.1) talking through a recording
/// proxy (`Tests/Interop/tools/capture_fixtures.py`). Each fixture is a request frame without its length prefix.
@Suite struct CapturedRequestTests {
    private func frame(_ name: String) throws -> ByteBuffer {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Fixtures"))
        return ByteBuffer(bytes: try Data(contentsOf: url))
    }

    @Test func apiVersionsV3FromLibrdkafka() throws {
        var buffer = try frame("librdkafka-ApiVersions-v3")
        let header = try RequestHeader(from: &buffer, version: 2)
        #expect(header.requestApiKey == ApiKey.apiVersions.rawValue)
        #expect(header.requestApiVersion == 3)
        #expect(header.correlationID == 1)
        #expect(header.clientID == "fjord-fixture")
        let request = try ApiVersionsRequest.decodeWhole(from: buffer, version: 3)
        #expect(request.clientSoftwareName == "confluent-kafka-python")
        #expect(request.clientSoftwareVersion == "2.16.1-rdkafka-2.16.0")
    }

    @Test func metadataV12FromLibrdkafka() throws {
        var buffer = try frame("librdkafka-Metadata-v12")
        let header = try RequestHeader(from: &buffer, version: MetadataRequest.requestHeaderVersion(for: 12))
        #expect(header.requestApiKey == ApiKey.metadata.rawValue)
        #expect(header.requestApiVersion == 12)
        let request = try MetadataRequest.decodeWhole(from: buffer, version: 12)
        #expect(request.topics?.map(\.name) == ["fjord-fixture-topic"])
        #expect(request.topics?.first?.topicID == .zero)
        #expect(request.allowAutoTopicCreation == true)
        #expect(request.includeTopicAuthorizedOperations == false)
    }

    @Test func produceV10FromLibrdkafka() throws {
        var buffer = try frame("librdkafka-Produce-v10")
        let header = try RequestHeader(from: &buffer, version: ProduceRequest.requestHeaderVersion(for: 10))
        #expect(header.requestApiKey == ApiKey.produce.rawValue)
        #expect(header.correlationID == 2)
        let request = try ProduceRequest.decodeWhole(from: buffer, version: 10)
        #expect(request.transactionalID == nil)
        #expect(request.acks == -1)
        #expect(request.timeoutMs == 30_000)
        #expect(request.topicData.map(\.name) == ["fjord-fixture-topic"])
        let partition = try #require(request.topicData.first?.partitionData.first)
        #expect(partition.index == 0)
        // The records field is kept as raw bytes: one v2 batch (magic 2 at byte 16) holding the record.
        let records = try #require(partition.records)
        #expect(records.getInteger(at: records.readerIndex + 16, as: Int8.self) == 2)
        #expect(records.readableBytesView.contains(0x68))  // "hello" travels uncompressed
    }
}
