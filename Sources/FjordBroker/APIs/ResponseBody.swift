import FjordStorage
import NIOCore

/// An encoded response body: bytes, and for Fetch, slices of segment files sent with `sendfile` in between.
public struct ResponseBody: Sendable {
    public enum Part: Sendable {
        case bytes(ByteBuffer)
        /// Bytes of a segment file, written with a `FileRegion` (zero copy).
        case file(FileSlice)
    }

    public private(set) var parts: [Part] = []
    public private(set) var byteCount = 0

    public init() {}

    public init(_ buffer: ByteBuffer) {
        append(buffer)
    }

    public mutating func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        parts.append(.bytes(buffer))
        byteCount += buffer.readableBytes
    }

    public mutating func append(_ slice: FileSlice) {
        guard slice.length > 0 else { return }
        parts.append(.file(slice))
        byteCount += slice.length
    }
}
