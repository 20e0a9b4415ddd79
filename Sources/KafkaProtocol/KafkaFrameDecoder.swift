import NIOCore

/// Splits a connection's byte stream into Kafka frames: a big-endian int32 size, then that many bytes. The broker
/// reads requests with it and the client responses.
///
/// The size is checked against `minimumFrameBytes...maximumFrameBytes` before a single byte of the frame is
/// buffered, so a hostile or corrupt prefix (2 GiB, negative) ends that connection instead of making its reader
/// allocate.
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// A size prefix outside the bounds.
    public struct FrameSizeError: Error, CustomStringConvertible {
        public var size: Int32
        public var bounds: ClosedRange<Int>
        /// What the bound is called where it is configured (`socket.request.max.bytes` on the broker).
        public var limitName: String

        public var description: String {
            if size < 0 { return "negative frame size \(size)" }
            if Int(size) < bounds.lowerBound {
                return "frame size \(size) is below the smallest possible \(bounds.lowerBound)"
            }
            return "frame size \(size) exceeds \(limitName) \(bounds.upperBound)"
        }
    }

    /// Once a frame's size is known (and within bounds), room for up to this much of it is reserved at once, so a
    /// frame of a megabyte is gathered into one allocation instead of one that doubles ten times, copying as it grows.
    static let upFrontReservationMax = 4 << 20

    public let bounds: ClosedRange<Int>
    public let limitName: String

    /// `minimumFrameBytes`: what the smallest valid frame holds (a request header; a response's correlation id).
    public init(minimumFrameBytes: Int, maximumFrameBytes: Int, limitName: String) {
        bounds = minimumFrameBytes...max(minimumFrameBytes, maximumFrameBytes)
        self.limitName = limitName
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        guard size >= 0, bounds.contains(Int(size)) else {
            throw FrameSizeError(size: size, bounds: bounds, limitName: limitName)
        }
        guard buffer.readableBytes >= 4 + Int(size) else {
            buffer.reserveCapacity(minimumWritableBytes: min(4 + Int(size), Self.upFrontReservationMax) - buffer.readableBytes)
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
