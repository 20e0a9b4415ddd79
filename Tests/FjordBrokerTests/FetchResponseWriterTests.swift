import Foundation
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker
@testable import FjordStorage

/// Flow: write record bytes to a real segment file; encode a Fetch response with `FetchResponseWriter` (file slices
/// for records); splice the file bytes in where the slices are; the result must equal what the generated
/// `FetchResponse` encoder writes with the same records in memory — at every served version.
@Suite struct FetchResponseWriterTests {
    @Test(arguments: Int16(4)...17)
    func zeroCopyEncodingMatchesTheGeneratedEncoder(version: Int16) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fjord-fetch-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SegmentFile(path: path, create: true)
        let records = ByteBuffer(bytes: (0..<300).map { UInt8($0 % 251) })
        try file.write(ByteBuffer(bytes: [9, 9, 9]), at: 0)
        try file.write(records, at: 3)
        let slice = FileSlice(file: file, position: 3, length: records.readableBytes)

        var withData = FetchResponse.PartitionData(
            partitionIndex: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0)
        withData.abortedTransactions = []
        var empty = FetchResponse.PartitionData(
            partitionIndex: 1, errorCode: ErrorCode.offsetOutOfRange.rawValue, highWatermark: 5, lastStableOffset: 5,
            logStartOffset: 2)
        empty.records = ByteBuffer()
        let topicID = KafkaUUID(high: 3, low: 4)
        let body = FetchResponseWriter(version: version).encode(
            errorCode: .none, sessionID: 77,
            topics: [
                .init(
                    name: "orders", topicID: topicID,
                    partitions: [.init(data: withData, slice: slice), .init(data: empty, slice: nil)])
            ]
        )
        var spliced = ByteBuffer()
        for part in body.parts {
            switch part {
            case .bytes(let buffer): spliced.writeImmutableBuffer(buffer)
            case .file(let slice): spliced.writeImmutableBuffer(try file.read(at: slice.position, length: slice.length))
            }
        }
        #expect(spliced.readableBytes == body.byteCount)

        var expectedData = withData
        expectedData.records = records
        let expected = FetchResponse(
            errorCode: 0, sessionID: 77,
            responses: [
                .init(
                    topic: version >= 13 ? "" : "orders", topicID: version >= 13 ? topicID : .zero,
                    partitions: [expectedData, empty])
            ]
        )
        #expect(spliced == expected.encoded(version: version))
        let decoded = try FetchResponse.decodeWhole(from: spliced, version: version)
        #expect(decoded.responses.first?.partitions.first?.records == records)
    }
}
