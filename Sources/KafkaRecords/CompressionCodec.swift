import NIOCore

/// The compression of a record batch's records section (attributes bits 0-2), in the framings Kafka clients use.
///
/// - `gzip`: the gzip file format (RFC 1952); several concatenated members decode as one stream.
/// - `snappy`: compression writes the xerial "snappy-java" framing the Java client writes (8-byte magic
///   `82 'SNAPPY' 00`, int32 version 1, int32 compatible version 1, then blocks of big-endian int32 length + raw
///   snappy);
///   decompression accepts that framing (detected by its magic) and plain raw snappy (what librdkafka may write).
/// - `lz4`: the LZ4 frame format (not the raw block format), with independent 64 KiB blocks as the Java client writes.
/// - `zstd`: a standard zstd frame; decompression streams, so frames without a content size work.
///
/// Decompression is bounded by `maxDecompressedBytes`: output beyond it throws `.decompressedSizeLimitExceeded`
/// instead of exhausting memory.
public enum CompressionCodec: Int16, Sendable, Hashable, CaseIterable {
    /// No compression.
    case none = 0
    /// gzip (zlib).
    case gzip = 1
    /// snappy (xerial framing when writing).
    case snappy = 2
    /// LZ4 frame format.
    case lz4 = 3
    /// zstd.
    case zstd = 4

    /// The default bound on decompressed output: 64 MiB, comfortably above Kafka's default `message.max.bytes`.
    public static let defaultMaxDecompressedBytes = 64 << 20

    /// Compresses the readable bytes of `input`.
    public func compress(_ input: ByteBuffer) throws(RecordBatchError) -> ByteBuffer {
        guard input.readableBytes <= Int(Int32.max) else {
            throw RecordBatchError(.invalidLength, "cannot compress \(input.readableBytes) bytes in one batch")
        }
        switch self {
        case .none: return input
        case .gzip: return try Self.gzipCompress(input)
        case .snappy: return try Self.snappyCompress(input)
        case .lz4: return try Self.lz4Compress(input)
        case .zstd: return try Self.zstdCompress(input)
        }
    }

    /// Decompresses the readable bytes of `input`, throwing if the output would exceed `maxDecompressedBytes`.
    public func decompress(
        _ input: ByteBuffer,
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws(RecordBatchError) -> ByteBuffer {
        // A ByteBuffer holds at most UInt32.max bytes; clamping also keeps the bound arithmetic from overflowing.
        let limit = min(max(0, maxDecompressedBytes), Int(UInt32.max))
        switch self {
        case .none:
            guard input.readableBytes <= limit else {
                throw RecordBatchError(
                    .decompressedSizeLimitExceeded,
                    "\(input.readableBytes) bytes exceed the limit of \(limit)"
                )
            }
            return input
        case .gzip: return try Self.gzipDecompress(input, limit: limit)
        case .snappy: return try Self.snappyDecompress(input, limit: limit)
        case .lz4: return try Self.lz4Decompress(input, limit: limit)
        case .zstd: return try Self.zstdDecompress(input, limit: limit)
        }
    }
}

/// A growing output buffer for streaming decompressors that refuses to grow past a limit.
struct BoundedOutput {
    private(set) var buffer: ByteBuffer
    let limit: Int

    init(inputBytes: Int, limit: Int) {
        self.limit = limit
        let guess = min(limit, max(4096, inputBytes.multipliedReportingOverflow(by: 4).partialValue))
        self.buffer = ByteBufferAllocator().buffer(capacity: max(guess, 1))
    }

    /// Calls `body` with a writable region of at most `limit - written + 1` bytes (so overflow is detectable);
    /// `body` returns how many bytes it wrote. Throws once the output exceeds the limit.
    mutating func write(_ body: (UnsafeMutableRawBufferPointer) -> Int) throws(RecordBatchError) -> Int {
        let room = limit - buffer.readableBytes + 1  // limit <= UInt32.max, so no overflow
        let chunk = min(room, max(65_536, buffer.readableBytes))
        let written = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk) { region in
            body(UnsafeMutableRawBufferPointer(rebasing: region.prefix(room)))
        }
        guard buffer.readableBytes <= limit else {
            throw RecordBatchError(
                .decompressedSizeLimitExceeded,
                "decompressed data exceeds the limit of \(limit) bytes"
            )
        }
        return written
    }
}
