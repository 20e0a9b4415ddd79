import NIOCore

/// Splits the byte stream of a connection into request frames: a big-endian int32 size, then that many bytes.
///
/// The size is checked against `socket.request.max.bytes` before a single byte of the frame is buffered, so a
/// hostile prefix (2 GiB, or negative) closes that connection instead of making the broker allocate.
struct KafkaFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// Why a connection's byte stream cannot be framed.
    struct FrameError: Error, CustomStringConvertible {
        var size: Int32
        var limit: Int
        var description: String {
            size < 0 ? "negative request size \(size)" : "request size \(size) exceeds socket.request.max.bytes \(limit)"
        }
    }

    let maximumFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        // Kafka rejects a zero size as well: every request has at least a header.
        guard size > 0, Int(size) <= maximumFrameBytes else {
            throw FrameError(size: size, limit: maximumFrameBytes)
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
