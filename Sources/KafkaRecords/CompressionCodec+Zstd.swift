import CZstd
import NIOCore

/// zstd through libzstd: one-shot compression at level 3 (the library default, as Kafka uses), streaming
/// decompression so frames that do not record their content size decode too.
extension CompressionCodec {
    static func zstdCompress(_ input: ByteBuffer) throws(RecordBatchError) -> ByteBuffer {
        let bound = ZSTD_compressBound(input.readableBytes)
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var result = 0
        input.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                result = ZSTD_compress(target.baseAddress, target.count, source.baseAddress, source.count, 3)
                return ZSTD_isError(result) != 0 ? 0 : result
            }
        }
        guard ZSTD_isError(result) == 0 else {
            throw RecordBatchError(.compressionFailed, "ZSTD_compress: \(String(cString: ZSTD_getErrorName(result)))")
        }
        return output
    }

    static func zstdDecompress(_ input: ByteBuffer, limit: Int) throws(RecordBatchError) -> ByteBuffer {
        guard let context = ZSTD_createDCtx() else {
            throw RecordBatchError(.compressionFailed, "ZSTD_createDCtx failed")
        }
        defer { ZSTD_freeDCtx(context) }
        var output = BoundedOutput(inputBytes: input.readableBytes, limit: limit)
        let failure: RecordBatchError? = input.withUnsafeReadableBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            if source.count == 0 {
                return RecordBatchError(.truncated, "empty zstd input")
            }
            while true {
                var result = 0
                var outputFull = false
                var produced = 0
                do throws(RecordBatchError) {
                    produced = try output.write { target in
                        var outBuffer = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                        result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                        outputFull = outBuffer.pos == outBuffer.size
                        return ZSTD_isError(result) != 0 ? 0 : outBuffer.pos
                    }
                } catch {
                    return error
                }
                if ZSTD_isError(result) != 0 {
                    let name = String(cString: ZSTD_getErrorName(result))
                    return RecordBatchError(.compressionFailed, "invalid zstd data: \(name)")
                }
                if inBuffer.pos == inBuffer.size {
                    if result == 0 { return nil }
                    if !outputFull && produced == 0 { return RecordBatchError(.truncated, "zstd frame ends early") }
                }
            }
        }
        if let failure { throw failure }
        return output.buffer
    }
}
