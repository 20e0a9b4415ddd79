import FjordTestSupport
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import FjordClient

struct BrokerConnectionTests {
    static func frame(correlationID: Int32, body: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(4 + body.utf8.count))
        buffer.writeInteger(correlationID)
        buffer.writeString(body)
        return buffer
    }

    @Test func frameDecoderSplitsFramesAtEveryByteBoundary() throws {
        var expected = ByteBuffer()
        expected.writeInteger(Int32(1))
        expected.writeString("hello")
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(Self.frame(correlationID: 1, body: "hello"), [expected])],
            decoderFactory: { KafkaFrameDecoder.responses(maximumFrameBytes: 1024) }
        )
    }

    @Test(arguments: [Int32(-1), 0, 3, 1025])
    func frameDecoderRejectsSizesOutsideTheBoundBeforeBuffering(size: Int32) throws {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(KafkaFrameDecoder.responses(maximumFrameBytes: 1024)))
        var buffer = ByteBuffer()
        buffer.writeInteger(size)
        #expect(throws: KafkaFrameDecoder.FrameSizeError.self) { try channel.writeInbound(buffer) }
        _ = try? channel.finish()
    }

    @Test func responsesAreMatchedByCorrelationIDInAnyOrder() throws {
        // Flow: 1. two requests go out; 2. responses arrive in reverse order; 3. each promise gets its own frame;
        // 4. a response for an unknown id is dropped.
        let channel = EmbeddedChannel(
            handler: RequestResponseHandler(brokerID: 1, address: BrokerAddress(host: "h", port: 1)))
        let first = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let second = channel.eventLoop.makePromise(of: ByteBuffer.self)
        for (id, promise) in [(Int32(7), first), (Int32(8), second)] {
            try channel.writeOutbound(
                OutboundRequest(
                    frame: ByteBuffer(string: "req"), correlationID: id, response: promise, timeout: .seconds(5),
                    label: "test")
            )
        }
        var second8 = ByteBuffer()
        second8.writeInteger(Int32(8))
        second8.writeString("b")
        var first7 = ByteBuffer()
        first7.writeInteger(Int32(7))
        first7.writeString("a")
        var stray = ByteBuffer()
        stray.writeInteger(Int32(99))
        try channel.writeInbound(second8)
        try channel.writeInbound(stray)
        try channel.writeInbound(first7)
        var a = try first.futureResult.wait()
        var b = try second.futureResult.wait()
        a.moveReaderIndex(forwardBy: 4)
        b.moveReaderIndex(forwardBy: 4)
        #expect(a.readString(length: 1) == "a")
        #expect(b.readString(length: 1) == "b")
        _ = try channel.finish()
    }

    @Test func requestsTimeOutAndCloseFailsTheRest() throws {
        let channel = EmbeddedChannel(
            handler: RequestResponseHandler(brokerID: 1, address: BrokerAddress(host: "h", port: 1)))
        let slow = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let pending = channel.eventLoop.makePromise(of: ByteBuffer.self)
        try channel.writeOutbound(
            OutboundRequest(
                frame: ByteBuffer(), correlationID: 1, response: slow, timeout: .milliseconds(100), label: "slow"))
        try channel.writeOutbound(
            OutboundRequest(
                frame: ByteBuffer(), correlationID: 2, response: pending, timeout: .seconds(60), label: "pending"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(150))
        #expect(throws: ClientError.self) { try slow.futureResult.wait() }
        _ = try? channel.finish()
        #expect(throws: ClientError.self) { try pending.futureResult.wait() }
    }

    @Test func inFlightLimiterAdmitsAtMostTheLimit() async {
        let limiter = InFlightLimiter(limit: 2)
        await limiter.acquire()
        await limiter.acquire()
        let admitted = NIOLockedValueBox(false)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await limiter.acquire()
                admitted.withLockedValue { $0 = true }
            }
            try? await Task.sleep(for: .milliseconds(50))
            #expect(!admitted.withLockedValue { $0 })
            limiter.release()
            await group.waitForAll()
        }
        #expect(admitted.withLockedValue { $0 })
    }

    @Test func reconnectBackoffDoublesUpToTheMaximum() {
        var configuration = ClientConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.reconnectBackoff = .milliseconds(50)
        configuration.reconnectBackoffMax = .milliseconds(300)
        let waits = (1...6).map { KafkaClient.backoff(failures: $0, configuration: configuration) }
        #expect(
            waits == [
                .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300),
                .milliseconds(300),
            ])
    }

    @Test func unreachableBrokersFailWithARetriableConnectionError() async throws {
        let port = try TestBroker.freePort()
        var configuration = ClientConfiguration(bootstrapServers: "127.0.0.1:\(port)")
        configuration.connectTimeout = .seconds(2)
        let client = KafkaClient(configuration: configuration)
        await #expect {
            try await client.refreshMetadata()
        } throws: { error in
            (error as? ClientError)?.code == .connection && (error as? ClientError)?.isRetriable == true
        }
        await client.close()
    }
}
