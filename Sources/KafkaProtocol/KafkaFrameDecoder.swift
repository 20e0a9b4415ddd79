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
    /// Whether a frame handed on since the buffer was last replaced still shares the buffer's storage. Frames are
    /// slices, and the broker works on them on other threads while this handler gathers the next frame: writing
    /// into shared storage makes ByteBuffer copy it whole (copy-on-write, at the old capacity), once per read.
    private var storageSharedWithFrames = false

    /// A tighter bound that holds while its box says so (nil: none), with its own name: the broker keeps a SASL
    /// connection's frames under `sasl.server.max.receive.size` until it has authenticated, as Kafka does, so that
    /// nobody can make it gather a large frame before saying who they are.
    public let provisionalLimit: (bytes: NIOLoopBoundBox<Int?>, name: String)?

    /// `minimumFrameBytes`: what the smallest valid frame holds (a request header; a response's correlation id).
    public init(
        minimumFrameBytes: Int, maximumFrameBytes: Int, limitName: String,
        provisionalLimit: (bytes: NIOLoopBoundBox<Int?>, name: String)? = nil
    ) {
        bounds = minimumFrameBytes...max(minimumFrameBytes, maximumFrameBytes)
        self.limitName = limitName
        self.provisionalLimit = provisionalLimit
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            handOverStorage(&buffer, keeping: 4, allocator: context.channel.allocator)
            return .needMoreData
        }
        guard size >= 0, bounds.contains(Int(size)) else {
            throw FrameSizeError(size: size, bounds: bounds, limitName: limitName)
        }
        if let provisionalLimit, let limit = provisionalLimit.bytes.value, Int(size) > limit {
            throw FrameSizeError(
                size: size, bounds: bounds.lowerBound...max(bounds.lowerBound, limit), limitName: provisionalLimit.name)
        }
        let frameBytes = 4 + Int(size)
        guard buffer.readableBytes >= frameBytes else {
            let room = min(frameBytes, Self.upFrontReservationMax)
            if !handOverStorage(&buffer, keeping: room, allocator: context.channel.allocator) {
                buffer.reserveCapacity(minimumWritableBytes: room - buffer.readableBytes)
            }
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(size))!
        storageSharedWithFrames = true
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    /// Leaves the storage that handed-on frames still use to them: the partial next frame (at most one read's worth)
    /// moves to a buffer of its own with `room` bytes, so the next reads are appended without a copy-on-write of
    /// the whole old buffer. When nothing is left, the buffer becomes empty and the next read is used as it is.
    /// Returns false when the storage was not shared (nothing to do).
    @discardableResult
    private mutating func handOverStorage(_ buffer: inout ByteBuffer, keeping room: Int, allocator: ByteBufferAllocator)
        -> Bool
    {
        guard storageSharedWithFrames else { return false }
        storageSharedWithFrames = false
        if buffer.readableBytes == 0 {
            buffer = allocator.buffer(capacity: 0)
        } else {
            var own = allocator.buffer(capacity: max(room, buffer.readableBytes))
            own.writeBuffer(&buffer)
            buffer = own
        }
        return true
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
