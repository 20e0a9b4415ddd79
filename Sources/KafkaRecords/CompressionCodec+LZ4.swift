import CLZ4
import NIOCore

/// LZ4 frame format through liblz4's `lz4frame.h`, with independent 64 KiB blocks and no checksums or content size,
/// which is what the Java client's `KafkaLZ4BlockOutputStream` writes and every client can read.
extension CompressionCodec {
    static func lz4Compress(_ input: ByteBuffer) throws(RecordBatchError) -> ByteBuffer {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        let bound = LZ4F_compressFrameBound(input.readableBytes, &preferences)
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var result = 0
        input.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                result = LZ4F_compressFrame(
                    target.baseAddress, target.count, source.baseAddress, source.count, &preferences
                )
                return LZ4F_isError(result) != 0 ? 0 : result
            }
        }
        guard LZ4F_isError(result) == 0 else {
            throw RecordBatchError(.compressionFailed, "LZ4F_compressFrame: \(lz4ErrorName(result))")
        }
        return output
    }

    static func lz4Decompress(_ input: ByteBuffer, limit: Int) throws(RecordBatchError) -> ByteBuffer {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw RecordBatchError(.compressionFailed, "LZ4F_createDecompressionContext failed")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var output = BoundedOutput(inputBytes: input.readableBytes, limit: limit)
        let failure: RecordBatchError? = input.withUnsafeReadableBytes { source in
            var consumed = 0
            while true {
                var hint = 0
                var sourceUsed = 0
                var produced = 0
                do throws(RecordBatchError) {
                    produced = try output.write { target in
                        var targetSize = target.count
                        sourceUsed = source.count - consumed
                        hint = LZ4F_decompress(
                            context, target.baseAddress, &targetSize,
                            source.baseAddress.map { $0 + consumed }, &sourceUsed, nil
                        )
                        return LZ4F_isError(hint) != 0 ? 0 : targetSize
                    }
                } catch {
                    return error
                }
                if LZ4F_isError(hint) != 0 {
                    return RecordBatchError(.compressionFailed, "invalid LZ4 frame: \(lz4ErrorName(hint))")
                }
                consumed += sourceUsed
                if consumed == source.count {
                    if hint == 0 { return nil }
                    if produced == 0 { return RecordBatchError(.truncated, "LZ4 frame ends early") }
                } else if sourceUsed == 0 && produced == 0 {
                    return RecordBatchError(.compressionFailed, "LZ4 frame makes no progress")
                }
            }
        }
        if let failure { throw failure }
        return output.buffer
    }

    private static func lz4ErrorName(_ code: Int) -> String {
        String(cString: LZ4F_getErrorName(code))
    }
}
