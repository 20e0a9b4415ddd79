import KafkaProtocol
import NIOCore
import Testing

/// Expected bytes written out by hand from the protocol guide (https://kafka.apache.org/protocol), field by
/// field, not produced by the code under test.
@Suite struct GoldenBytesTests {
    private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    private func frame(_ header: RequestHeader, headerVersion: Int16, _ write: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBuffer()
        header.write(to: &buffer, version: headerVersion)
        write(&buffer)
        return bytes(buffer)
    }

    @Test func apiVersionsRequestV0() throws {
        let header = RequestHeader(requestApiKey: 18, requestApiVersion: 0, correlationID: 1, clientID: "c")
        let expected: [UInt8] = [
            0x00, 0x12,  // api_key 18
            0x00, 0x00,  // api_version 0
            0x00, 0x00, 0x00, 0x01,  // correlation_id 1
            0x00, 0x01, 0x63,  // client_id "c" (int16 length)
            // v0 body is empty
        ]
        #expect(frame(header, headerVersion: 1) { ApiVersionsRequest().write(to: &$0, version: 0) } == expected)
    }

    @Test func apiVersionsRequestV3() throws {
        let header = RequestHeader(requestApiKey: 18, requestApiVersion: 3, correlationID: 7, clientID: "c")
        let body = ApiVersionsRequest(clientSoftwareName: "sw", clientSoftwareVersion: "1.0")
        let expected: [UInt8] = [
            0x00, 0x12, 0x00, 0x03,  // api_key 18, api_version 3
            0x00, 0x00, 0x00, 0x07,  // correlation_id 7
            0x00, 0x01, 0x63,  // client_id stays a classic int16 string in header v2
            0x00,  // header tagged fields: none
            0x03, 0x73, 0x77,  // client_software_name compact string "sw" (length + 1 = 3)
            0x04, 0x31, 0x2E, 0x30,  // client_software_version "1.0"
            0x00,  // body tagged fields: none
        ]
        #expect(frame(header, headerVersion: 2) { body.write(to: &$0, version: 3) } == expected)
        var buffer = ByteBuffer(bytes: expected)
        let decodedHeader = try RequestHeader(from: &buffer, version: 2)
        #expect(decodedHeader == header)
        #expect(try ApiVersionsRequest(from: &buffer, version: 3) == body)
    }

    @Test func apiVersionsResponseV0AndV3() throws {
        let response = ApiVersionsResponse(
            errorCode: 0, apiKeys: [.init(apiKey: 3, minVersion: 0, maxVersion: 12)], throttleTimeMs: 0
        )
        let v0: [UInt8] = [
            0x00, 0x00,  // error_code
            0x00, 0x00, 0x00, 0x01,  // api_keys: int32 count 1
            0x00, 0x03, 0x00, 0x00, 0x00, 0x0C,  // api_key 3, min 0, max 12
        ]
        #expect(bytes(response.encoded(version: 0)) == v0)
        let v3: [UInt8] = [
            0x00, 0x00,  // error_code
            0x02,  // api_keys: compact array, 1 element
            0x00, 0x03, 0x00, 0x00, 0x00, 0x0C, 0x00,  // key 3, 0...12, no tagged fields
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
            0x00,  // tagged fields: none (features left at their defaults)
        ]
        #expect(bytes(response.encoded(version: 3)) == v3)
        #expect(try ApiVersionsResponse.decodeWhole(from: ByteBuffer(bytes: v3), version: 3) == response)
    }

    @Test func metadataRequestV1AndV12() throws {
        var v1Request = MetadataRequest()
        v1Request.topics = [.init(name: "ab")]
        let v1: [UInt8] = [
            0x00, 0x00, 0x00, 0x01,  // topics: int32 count 1
            0x00, 0x02, 0x61, 0x62,  // name "ab"
        ]
        #expect(bytes(v1Request.encoded(version: 1)) == v1)
        var all = MetadataRequest()
        all.topics = nil
        #expect(bytes(all.encoded(version: 1)) == [0xFF, 0xFF, 0xFF, 0xFF])  // null array: every topic

        let v12Request = MetadataRequest(
            topics: [.init(topicID: .zero, name: "ab")], allowAutoTopicCreation: true,
            includeTopicAuthorizedOperations: false
        )
        let v12: [UInt8] = [
            0x02,  // topics: compact array, 1 element
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // topic_id: zero uuid
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x03, 0x61, 0x62,  // name compact nullable string "ab"
            0x00,  // topic tagged fields
            0x01,  // allow_auto_topic_creation
            0x00,  // include_topic_authorized_operations
            0x00,  // tagged fields
        ]
        #expect(bytes(v12Request.encoded(version: 12)) == v12)
        #expect(try MetadataRequest.decodeWhole(from: ByteBuffer(bytes: v12), version: 12) == v12Request)
    }

    @Test func produceRequestV3AndV9() throws {
        let records = ByteBuffer(bytes: [0xAA, 0xBB])
        let request = ProduceRequest(
            transactionalID: nil, acks: -1, timeoutMs: 1000,
            topicData: [.init(name: "t", partitionData: [.init(index: 2, records: records)])]
        )
        let v3: [UInt8] = [
            0xFF, 0xFF,  // transactional_id: null
            0xFF, 0xFF,  // acks -1
            0x00, 0x00, 0x03, 0xE8,  // timeout_ms 1000
            0x00, 0x00, 0x00, 0x01,  // topic_data count 1
            0x00, 0x01, 0x74,  // name "t"
            0x00, 0x00, 0x00, 0x01,  // partition_data count 1
            0x00, 0x00, 0x00, 0x02,  // index 2
            0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB,  // records: int32 length 2
        ]
        #expect(bytes(request.encoded(version: 3)) == v3)
        let v9: [UInt8] = [
            0x00,  // transactional_id: compact null
            0xFF, 0xFF,  // acks -1
            0x00, 0x00, 0x03, 0xE8,  // timeout_ms
            0x02,  // topic_data: 1 element
            0x02, 0x74,  // name "t"
            0x02,  // partition_data: 1 element
            0x00, 0x00, 0x00, 0x02,  // index 2
            0x03, 0xAA, 0xBB,  // records: compact bytes, length 2
            0x00,  // partition tagged fields
            0x00,  // topic tagged fields
            0x00,  // request tagged fields
        ]
        #expect(bytes(request.encoded(version: 9)) == v9)
        #expect(try ProduceRequest.decodeWhole(from: ByteBuffer(bytes: v9), version: 9) == request)
    }
}
