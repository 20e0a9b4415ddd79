import NIOCore

/// Splits a connection's byte stream into response frames: a big-endian int32 size, then that many bytes.
///
/// The size is checked against the configured maximum before a byte of the frame is buffered, so a hostile or
/// corrupt size prefix closes the connection instead of making the client allocate.
struct ResponseFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let maximumFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        // Every response has at least a correlation id.
        guard size >= 4, Int(size) <= maximumFrameBytes else {
            throw ClientError(
                .protocolViolation, "response frame size \(size) outside 4...\(maximumFrameBytes)", isRetriable: false
            )
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
