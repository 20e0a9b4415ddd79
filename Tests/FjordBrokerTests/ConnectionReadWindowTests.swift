import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import FjordBroker

/// When the connection handler lets the socket be read again: requests pipeline up to the window of
/// `maximumInFlight`; a full window holds the read back until an answer leaves.
///
/// (A byte bound — a large request handled alone, as Kafka does — was tried and taken out: it left an acks=0
/// producer's last requests in the kernel's receive buffer, lost at the producer's close — most likely a reset,
/// which discards unread data; a fresh-clone run lost 1,149 of 2,000 acks=0 records.)
@Suite struct ConnectionReadWindowTests {
    /// Counts the `read` calls that pass the connection handler on their way to the socket.
    private final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// Answers Metadata only when the test completes the oldest held promise.
    private struct HeldMetadataHandler: TypedAPIHandler {
        let held: NIOLockedValueBox<[EventLoopPromise<MetadataResponse>]>
        var versions: ClosedRange<Int16> { 0...12 }
        func handle(_ request: MetadataRequest, context: RequestContext) -> EventLoopFuture<MetadataResponse> {
            let promise = context.eventLoop.makePromise(of: MetadataResponse.self)
            held.withLockedValue { $0.append(promise) }
            return promise.futureResult
        }
    }

    private let held = NIOLockedValueBox<[EventLoopPromise<MetadataResponse>]>([])
    private let counter = ReadCounter()

    private func makeChannel() throws -> EmbeddedChannel {
        var registry = APIRegistry()
        registry.register(HeldMetadataHandler(held: held))
        return try EmbeddedConnection.make(registry: registry, head: [counter])
    }

    /// A Metadata request naming `topicCount` topics of 40 characters: about 42 bytes per topic on the wire.
    private func sendMetadata(topicCount: Int, correlationID: Int32, on channel: EmbeddedChannel) throws {
        let name = String(repeating: "t", count: 40)
        let request = MetadataRequest(topics: (0..<topicCount).map { _ in MetadataRequest.MetadataRequestTopic(name: name) })
        var frame = ByteBuffer()
        frame.writeInteger(Int32(0))
        RequestHeader(requestApiKey: ApiKey.metadata.rawValue, requestApiVersion: 9, correlationID: correlationID)
            .write(to: &frame, version: MetadataRequest.requestHeaderVersion(for: 9))
        request.write(to: &frame, version: 9)
        frame.setInteger(Int32(frame.readableBytes - 4), at: 0)
        try channel.writeInbound(frame)
    }

    private func releaseOldest(on channel: EmbeddedChannel) throws {
        let promise = try #require(held.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() })
        promise.succeed(MetadataResponse(brokers: [], topics: []))
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
    }

    @Test func requestsPipelineUpToTheWindow() throws {
        let channel = try makeChannel()
        defer { _ = try? channel.finish() }
        for id in 0..<Int32(KafkaConnectionHandler.maximumInFlight - 1) {
            try sendMetadata(topicCount: 1, correlationID: id, on: channel)
        }
        channel.read()
        #expect(counter.reads == 1, "a window with room lets the socket be read")

        try sendMetadata(topicCount: 1, correlationID: 99, on: channel)
        channel.read()
        #expect(counter.reads == 1, "a full window holds the read back")
        try releaseOldest(on: channel)
        #expect(counter.reads == 2, "the held read goes out once an answer leaves")
    }
}
