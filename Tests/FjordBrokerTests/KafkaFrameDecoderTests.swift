import KafkaProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import FjordBroker

@Suite struct KafkaFrameDecoderTests {
    private func framed(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    @Test func splitsFramesHoweverTheBytesArrive() throws {
        // The verifier feeds the input byte by byte, all at once and in between, and checks the same frames come out.
        let frames: [[UInt8]] = [[1, 2, 3], [4], Array(repeating: 9, count: 300)]
        let input = frames.map(framed)
        var combined = ByteBuffer()
        for buffer in input { combined.writeImmutableBuffer(buffer) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(combined, frames.map { ByteBuffer(bytes: $0) })],
            decoderFactory: { KafkaFrameDecoder.requests(maximumFrameBytes: 1024) }
        )
    }

    @Test func anUnauthenticatedConnectionsFramesStayUnderTheSaslLimitUntilItIsLifted() throws {
        let channel = EmbeddedChannel()
        let limit = NIOLoopBoundBox<Int?>(100, eventLoop: channel.eventLoop)
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(KafkaFrameDecoder.requests(maximumFrameBytes: 4096, unauthenticatedLimit: limit)))
        try channel.writeInbound(framed(Array(repeating: 1, count: 100)))
        #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 100)
        // Authenticated: the listener's own bound only.
        limit.value = nil
        try channel.writeInbound(framed(Array(repeating: 2, count: 1000)))
        #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 1000)
        limit.value = 100
        let error = #expect(throws: KafkaFrameDecoder.FrameSizeError.self) {
            try channel.writeInbound(framed(Array(repeating: 3, count: 101)))
        }
        #expect(error?.limitName == "sasl.server.max.receive.size")
        #expect(error.map { "\($0)" } == "frame size 101 exceeds sasl.server.max.receive.size 100")
        _ = try? channel.finish()
    }

    @Test func framesStillHeldElsewhereKeepTheirBytesWhileLaterFramesArrive() throws {
        // The broker keeps a frame (a slice of the gathering buffer) while a pool thread works on it; the decoder
        // moves the partial next frame to storage of its own. Held frames and later frames must both stay intact.
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(KafkaFrameDecoder.requests(maximumFrameBytes: 4096)))
        let first = Array(repeating: UInt8(1), count: 1000)
        let second = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        let third = Array(repeating: UInt8(3), count: 10)
        var stream = framed(first)
        stream.writeImmutableBuffer(framed(second))
        stream.writeImmutableBuffer(framed(third))
        // first whole + 100 bytes of second, then second's middle, then the rest with the third frame.
        try channel.writeInbound(stream.getSlice(at: 0, length: 1104 + 100)!)
        let heldFirst = try channel.readInbound(as: ByteBuffer.self)
        try channel.writeInbound(stream.getSlice(at: 1204, length: 1500)!)
        try channel.writeInbound(stream.getSlice(at: 2704, length: stream.readableBytes - 2704)!)
        let secondOut = try channel.readInbound(as: ByteBuffer.self)
        let thirdOut = try channel.readInbound(as: ByteBuffer.self)
        #expect(heldFirst.map { Array($0.readableBytesView) } == first)
        #expect(secondOut.map { Array($0.readableBytesView) } == second)
        #expect(thirdOut.map { Array($0.readableBytesView) } == third)
        #expect(try channel.finish().isClean)
    }

    @Test func oversizedNegativeAndZeroSizesAreRejectedBeforeBuffering() throws {
        for size in [Int32(1025), .max, -1, .min, 0] {
            let channel = EmbeddedChannel(
                handler: ByteToMessageHandler(KafkaFrameDecoder.requests(maximumFrameBytes: 1024)))
            var buffer = ByteBuffer()
            buffer.writeInteger(size)
            #expect(throws: KafkaFrameDecoder.FrameSizeError.self, "size \(size)") {
                try channel.writeInbound(buffer)
            }
            _ = try? channel.finish()
        }
    }

    @Test func aFrameAtTheLimitIsAccepted() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(KafkaFrameDecoder.requests(maximumFrameBytes: 16)))
        try channel.writeInbound(framed(Array(repeating: 7, count: 16)))
        let frame = try channel.readInbound(as: ByteBuffer.self)
        #expect(frame?.readableBytes == 16)
        #expect(try channel.finish().isClean)
    }
}
