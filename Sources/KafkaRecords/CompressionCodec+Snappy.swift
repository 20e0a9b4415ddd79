import CSnappy
import NIOCore

/// snappy through libsnappy's C API, in the xerial "snappy-java" framing the Java client writes, reading raw snappy
/// as well.
///
/// Xerial framing: magic `82 53 4E 41 50 50 59 00` ("\u{82}SNAPPY\0"), int32 version (1), int32 minimum compatible
/// version (1), then blocks of a big-endian int32 compressed length followed by that many bytes of raw snappy.
extension CompressionCodec {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// The uncompressed block size snappy-java uses.
    static let xerialBlockBytes = 32 * 1024

    static func snappyCompress(_ input: ByteBuffer) throws(RecordBatchError) -> ByteBuffer {
        var remaining = input
        let blocks = (input.readableBytes + xerialBlockBytes - 1) / xerialBlockBytes
        let perBlock = snappy_max_compressed_length(xerialBlockBytes) + 4
        var output = ByteBufferAllocator().buffer(capacity: 16 + blocks * perBlock)
        output.writeBytes(xerialMagic)
        output.writeInteger(Int32(1))
        output.writeInteger(Int32(1))
        while remaining.readableBytes > 0 {
            let block = remaining.readSlice(length: min(xerialBlockBytes, remaining.readableBytes))!
            let lengthIndex = output.writerIndex
            output.writeInteger(Int32(0))
            let bound = snappy_max_compressed_length(block.readableBytes)
            var status = SNAPPY_OK
            let written = block.withUnsafeReadableBytes { source in
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                    var targetLength = target.count
                    status = snappy_compress(
                        source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count,
                        target.baseAddress?.assumingMemoryBound(to: CChar.self), &targetLength
                    )
                    return status == SNAPPY_OK ? targetLength : 0
                }
            }
            guard status == SNAPPY_OK else {
                throw RecordBatchError(.compressionFailed, "snappy_compress failed with status \(status.rawValue)")
            }
            output.setInteger(Int32(written), at: lengthIndex)
        }
        return output
    }

    static func snappyDecompress(_ input: ByteBuffer, limit: Int) throws(RecordBatchError) -> ByteBuffer {
        guard input.getBytes(at: input.readerIndex, length: xerialMagic.count) == xerialMagic else {
            var output = ByteBufferAllocator().buffer(capacity: 0)
            try appendRawSnappy(input, to: &output, limit: limit)
            return output
        }
        var remaining = input
        guard remaining.readableBytes >= 16 else {
            throw RecordBatchError(.truncated, "xerial snappy header is truncated")
        }
        remaining.moveReaderIndex(forwardBy: 16)  // magic, version, compatible version
        var output = ByteBufferAllocator().buffer(capacity: 0)
        while remaining.readableBytes > 0 {
            guard let length = remaining.readInteger(as: Int32.self) else {
                throw RecordBatchError(.truncated, "xerial snappy block length is truncated")
            }
            guard length >= 0, let block = remaining.readSlice(length: Int(length)) else {
                throw RecordBatchError(
                    .truncated,
                    "xerial snappy block of \(length) bytes but \(remaining.readableBytes) remain"
                )
            }
            try appendRawSnappy(block, to: &output, limit: limit)
        }
        return output
    }

    /// Decompresses one raw snappy block onto `output`, checking its declared length against the limit first.
    private static func appendRawSnappy(
        _ block: ByteBuffer,
        to output: inout ByteBuffer,
        limit: Int
    ) throws(RecordBatchError) {
        var uncompressedLength = 0
        let lengthStatus = block.withUnsafeReadableBytes { source in
            snappy_uncompressed_length(
                source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count, &uncompressedLength
            )
        }
        guard lengthStatus == SNAPPY_OK else {
            throw RecordBatchError(.compressionFailed, "invalid snappy data: unreadable uncompressed length")
        }
        guard uncompressedLength <= limit - output.readableBytes else {
            throw RecordBatchError(
                .decompressedSizeLimitExceeded,
                "snappy data declares \(uncompressedLength) bytes, beyond the limit of \(limit)"
            )
        }
        if uncompressedLength == 0 {
            // snappy_uncompress needs a non-null target; an empty block is valid only if it is exactly the header.
            guard block.readableBytes == 1 else {
                throw RecordBatchError(.compressionFailed, "invalid snappy data: trailing bytes after empty block")
            }
            return
        }
        var status = SNAPPY_OK
        block.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: uncompressedLength) { target in
                var targetLength = uncompressedLength
                status = snappy_uncompress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count,
                    target.baseAddress?.assumingMemoryBound(to: CChar.self), &targetLength
                )
                return status == SNAPPY_OK ? targetLength : 0
            }
        }
        guard status == SNAPPY_OK else {
            throw RecordBatchError(.compressionFailed, "invalid snappy data (status \(status.rawValue))")
        }
    }
}
