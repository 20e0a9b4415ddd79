import Glibc

/// Writes small files so that a crash leaves either the old or the new contents, never a mix:
/// write a temporary file, fsync it, rename it over the target, fsync the directory.
enum AtomicFile {
    struct WriteError: Error, CustomStringConvertible {
        var path: String
        var operation: String
        var errno: Int32
        var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
    }

    static func write(_ contents: String, to path: String) throws(WriteError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw WriteError(path: temporary, operation: "open", errno: errno) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes {
                Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let error = errno
                close(descriptor)
                throw WriteError(path: temporary, operation: "write", errno: error)
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            let error = errno
            close(descriptor)
            throw WriteError(path: temporary, operation: "fsync", errno: error)
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw WriteError(path: path, operation: "rename", errno: errno) }
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}
