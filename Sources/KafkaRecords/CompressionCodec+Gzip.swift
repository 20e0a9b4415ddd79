import CZlib
import NIOCore

/// gzip through zlib: `deflateInit2` with window bits 31 writes the gzip format; `inflateInit2` with 15 + 32
/// auto-detects gzip or zlib headers.
extension CompressionCodec {
    static func gzipCompress(_ input: ByteBuffer) throws(RecordBatchError) -> ByteBuffer {
        var stream = z_stream()
        let initStatus = deflateInit2_(
            &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size)
        )
        guard initStatus == Z_OK else {
            throw RecordBatchError(.compressionFailed, "deflateInit2 failed with status \(initStatus)")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.readableBytes)))
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var status: Int32 = Z_OK
        input.withUnsafeReadableBytes { source in
            _ = output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(min(target.count, Int(UInt32.max)))
                let available = Int(stream.avail_out)
                status = deflate(&stream, Z_FINISH)
                return available - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else {
            throw RecordBatchError(.compressionFailed, "deflate did not finish (status \(status))")
        }
        return output
    }

    static func gzipDecompress(_ input: ByteBuffer, limit: Int) throws(RecordBatchError) -> ByteBuffer {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw RecordBatchError(.compressionFailed, "inflateInit2 failed with status \(initStatus)")
        }
        defer { inflateEnd(&stream) }
        var output = BoundedOutput(inputBytes: input.readableBytes, limit: limit)
        let failure: RecordBatchError? = input.withUnsafeReadableBytes { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(source.count)
            while true {
                var status: Int32 = Z_OK
                var outputFull = false
                do throws(RecordBatchError) {
                    _ = try output.write { target in
                        stream.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                        stream.avail_out = uInt(min(target.count, Int(UInt32.max)))
                        let available = Int(stream.avail_out)
                        status = inflate(&stream, Z_NO_FLUSH)
                        outputFull = stream.avail_out == 0
                        return available - Int(stream.avail_out)
                    }
                } catch {
                    return error
                }
                switch status {
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return nil }
                    inflateReset(&stream)  // another gzip member follows
                case Z_OK, Z_BUF_ERROR:
                    if stream.avail_in == 0 && !outputFull {
                        return RecordBatchError(.truncated, "gzip stream ends before its trailer")
                    }
                    if status == Z_BUF_ERROR && !outputFull {
                        return RecordBatchError(.compressionFailed, "gzip stream makes no progress")
                    }
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    return RecordBatchError(.compressionFailed, "invalid gzip data: \(reason)")
                }
            }
        }
        if let failure { throw failure }
        return output.buffer
    }
}
