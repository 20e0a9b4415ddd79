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
