#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// An open file of a segment (`.log`, `.index`, `.timeindex`) with positional reads and writes.
///
/// Positional I/O (`pread`/`pwrite`) lets readers and the single appender share one descriptor without a seek
/// position. The descriptor stays open until `close()`; a fetch that sends a slice with `sendfile` takes its own
/// duplicate (`duplicateHandle()`), so a segment deleted meanwhile cannot pull the file from under it.
public final class SegmentFile: @unchecked Sendable {
    public let path: String
    private let descriptor: CInt

    /// Opens (creating if asked) a file for reading and writing.
    public init(path: String, create: Bool) throws(LogError) {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw LogError(.io, "open \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        Glibc.close(descriptor)
    }

    public func size() throws(LogError) -> Int64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("fstat") }
        return Int64(status.st_size)
    }

    /// Writes all of `buffer` at `position`.
    public func write(_ buffer: ByteBuffer, at position: Int64) throws(LogError) {
        var written = 0
        let total = buffer.readableBytes
        while written < total {
            let result = buffer.withUnsafeReadableBytes { bytes in
                pwrite(descriptor, bytes.baseAddress! + written, total - written, off_t(position) + off_t(written))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("pwrite")
            }
            written += result
        }
    }

    /// Reads up to `length` bytes at `position`; fewer only at the end of the file.
    public func read(at position: Int64, length: Int) throws(LogError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        var done = 0
        while done < length {
            let result = buffer.withUnsafeMutableWritableBytes { bytes in
                pread(descriptor, bytes.baseAddress!, length - done, off_t(position) + off_t(done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("pread")
            }
            if result == 0 { break }
            buffer.moveWriterIndex(forwardBy: result)
            done += result
        }
        return buffer
    }

    public func truncate(to size: Int64) throws(LogError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw failure("ftruncate") }
    }

    /// fsync: only from a thread that may block, never an event loop.
    public func sync() throws(LogError) {
        guard fsync(descriptor) == 0 else { throw failure("fsync") }
    }

    /// A handle of its own for one `sendfile`; the caller closes it when the write completes.
    public func duplicateHandle() throws(LogError) -> NIOFileHandle {
        let copy = dup(descriptor)
        guard copy >= 0 else { throw failure("dup") }
        return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: copy)
    }

    private func failure(_ operation: String) -> LogError {
        LogError(.io, "\(operation) \(path): \(String(cString: strerror(errno)))")
    }

    /// Renames a file; used for `.deleted` and `.cleaned` suffixes.
    static func rename(_ from: String, to: String) throws(LogError) {
        guard Glibc.rename(from, to) == 0 else { throw LogError(.io, "rename \(from): \(String(cString: strerror(errno)))") }
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
