import Glibc
import NIOCore

/// Whole-file writes that a crash cannot tear, and bounded whole-file reads, for the KRaft node's small files
/// (`quorum-state`, snapshots, `bootstrap.checkpoint`).
///
/// A write goes to a temporary name, is fsynced, renamed over the target and the folder fsynced: after a crash the
/// target holds the old or the new contents, and only the temporary file can be partial (each owner names and
/// removes its own leftovers, as Kafka does).
enum DurableFile {
    /// Writes `bytes` to `temporary`, fsyncs it, renames it to `path` and fsyncs the folder. The temporary file is
    /// removed if any step fails.
    static func write(_ bytes: ByteBuffer, to path: String, via temporary: String) throws(LogError) {
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("open", temporary) }
        do throws(LogError) {
            try writeAll(bytes, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw failure("fsync", temporary) }
            guard close(descriptor) == 0 else { throw failure("close", temporary) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = failure("rename", temporary)
            unlink(temporary)
            throw error
        }
        try syncFolder(of: path)
    }

    /// fsyncs the folder holding `path`, so that a rename or a new file in it survives a crash.
    static func syncFolder(of path: String) throws(LogError) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let descriptor = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", folder) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync", folder) }
    }

    /// The whole file, or nil if it does not exist. A file larger than `limit` is refused before anything is
    /// allocated for it.
    static func read(_ path: String, limit: Int) throws(LogError) -> ByteBuffer? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw failure("open", path)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("stat", path) }
        let size = Int(status.st_size)
        guard size <= limit else {
            throw LogError(.corrupt, "\(path) has \(size) bytes, more than the \(limit) allowed for this file")
        }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        var done = 0
        while done < size {
            var count = 0
            // The closure returns how far the writer index moves, so a failed read (-1) must move it by 0.
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size - done) { raw in
                count = Glibc.read(descriptor, raw.baseAddress, size - done)
                return max(count, 0)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if count == 0 { break }  // the file shrank since fstat: what was read is all there is
            done += count
        }
        return buffer
    }

    /// Creates `path` and its missing parents (mode 0755); an existing folder is fine.
    static func makeFolder(_ path: String) throws(LogError) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o755) != 0 && errno != EEXIST { throw failure("mkdir", built) }
        }
    }

    private static func writeAll(_ bytes: ByteBuffer, to descriptor: CInt, path: String) throws(LogError) {
        var remaining = bytes
        while remaining.readableBytes > 0 {
            let count = remaining.withUnsafeReadableBytes { raw in Glibc.write(descriptor, raw.baseAddress, raw.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            remaining.moveReaderIndex(forwardBy: count)
        }
    }

    private static func failure(_ operation: String, _ path: String) -> LogError {
        LogError(.io, "\(operation) \(path): \(String(cString: strerror(errno)))")
    }
}
