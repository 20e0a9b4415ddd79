import Glibc
import KafkaRecords
import NIOConcurrencyHelpers
import NIOCore

/// A file of a segment (`.log`, `.index`, `.timeindex`) with positional reads and writes.
///
/// Positional I/O (`pread`/`pwrite`) lets readers and the single appender share one descriptor without a seek
/// position. The descriptor is opened on first use and may be closed again by its `SegmentFileCache` when more
/// files are open than the cache allows (least recently used first, never while an operation uses it); the next
/// operation reopens it. A fetch that sends a slice with `sendfile` takes its own duplicate
/// (`duplicateHandle()`), so neither eviction nor a segment deleted meanwhile can pull the file from under it.
public final class SegmentFile: Sendable {
    /// The descriptor and what the cache needs to know of it, behind the file's lock (held for memory work and
    /// the `open` of a closed descriptor; reads and writes run outside it, their descriptor pinned).
    private struct State: Sendable {
        var path: String
        var descriptor: CInt = -1
        /// Operations using the descriptor now; it is closed only when none does.
        var pins = 0
        var closeWhenUnpinned = false
        /// Monotonic nanoseconds of the last use, for the cache's LRU choice.
        var lastUse: UInt64 = 0
    }

    private let state: NIOLockedValueBox<State>
    let cache: SegmentFileCache
    private let createIfMissing: Bool

    /// The file's path (it changes when the segment is renamed to `.deleted`).
    public var path: String { state.withLockedValue { $0.path } }

    /// Opens (creating if asked) a file for reading and writing. With `create`, the file exists when this returns.
    public init(path: String, create: Bool, cache: SegmentFileCache = .shared) throws(LogError) {
        self.cache = cache
        createIfMissing = false
        var initial = State(path: path)
        if create {
            let descriptor = open(path, O_RDWR | O_CLOEXEC | O_CREAT, 0o644)
            guard descriptor >= 0 else { throw LogError(.io, "open \(path): \(String(cString: strerror(errno)))") }
            initial.descriptor = descriptor
            initial.lastUse = Self.monotonicNow()
        } else if !Self.exists(path) {
            throw LogError(.io, "open \(path): \(String(cString: strerror(ENOENT)))")
        }
        state = NIOLockedValueBox(initial)
        if create { cache.didOpen(self) }
    }

    /// A handle that opens the file only when first used (lazily loaded segments); with `createIfMissing` the
    /// open creates it (an index rebuilt from its log).
    init(lazyPath path: String, cache: SegmentFileCache, createIfMissing: Bool = false) {
        state = NIOLockedValueBox(State(path: path))
        self.cache = cache
        self.createIfMissing = createIfMissing
    }

    deinit {
        let descriptor = state.withLockedValue { $0.descriptor }
        if descriptor >= 0 {
            Glibc.close(descriptor)
            cache.didClose(self)
        }
    }

    /// Whether the descriptor is open now (for tests of the cache).
    var isOpen: Bool { state.withLockedValue { $0.descriptor >= 0 } }

    /// Runs `body` with an open descriptor that stays open until it returns.
    private func withDescriptor<T>(_ body: (CInt) throws(LogError) -> T) throws(LogError) -> T {
        let createIfMissing = self.createIfMissing
        let (descriptor, opened) = try state.withLockedValueTyped { (state) throws(LogError) -> (CInt, Bool) in
            var opened = false
            if state.descriptor < 0 {
                let descriptor = open(state.path, O_RDWR | O_CLOEXEC | (createIfMissing ? O_CREAT : 0), 0o644)
                guard descriptor >= 0 else {
                    throw LogError(.io, "open \(state.path): \(String(cString: strerror(errno)))")
                }
                state.descriptor = descriptor
                opened = true
            }
            state.pins += 1
            state.lastUse = Self.monotonicNow()
            return (state.descriptor, opened)
        }
        if opened { cache.didOpen(self) }
        defer { unpin() }
        return try body(descriptor)
    }

    private func unpin() {
        let closed: Bool = state.withLockedValue { state in
            state.pins -= 1
            guard state.pins == 0, state.closeWhenUnpinned, state.descriptor >= 0 else { return false }
            Glibc.close(state.descriptor)
            state.descriptor = -1
            state.closeWhenUnpinned = false
            return true
        }
        if closed { cache.didClose(self) }
    }

    /// Closes the descriptor if no operation uses it; with `force`, as soon as the last one ends. Returns whether
    /// it was closed now. The next operation reopens the file.
    @discardableResult
    func closeDescriptor(force: Bool = false) -> Bool {
        let closed: Bool = state.withLockedValue { state in
            guard state.descriptor >= 0 else { return false }
            guard state.pins == 0 else {
                if force { state.closeWhenUnpinned = true }
                return false
            }
            Glibc.close(state.descriptor)
            state.descriptor = -1
            return true
        }
        if closed { cache.didClose(self) }
        return closed
    }

    var lastUseNanoseconds: UInt64 { state.withLockedValue { $0.lastUse } }

    public func size() throws(LogError) -> Int64 {
        try withDescriptor { (descriptor) throws(LogError) -> Int64 in
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw failure("fstat") }
            return Int64(status.st_size)
        }
    }

    /// Writes all of `buffer` at `position`.
    public func write(_ buffer: ByteBuffer, at position: Int64) throws(LogError) {
        try withDescriptor { (descriptor) throws(LogError) in
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
    }

    /// Writes `buffer` at `position` with each batch's first 16 bytes (base offset, batch length, leader epoch)
    /// taken from `headers` (positions relative to the buffer's reader index) — one `pwritev` of the original bytes
    /// and small patched prefixes, no copy of the batches.
    func write(_ buffer: ByteBuffer, at position: Int64, patching headers: [BatchHeader]) throws(LogError) {
        // The first 16 bytes of a batch: base offset, batch length, partition leader epoch (`RecordBatch.Offset`).
        let prefixSize = RecordBatch.Offset.magic
        typealias Offset = RecordBatch.Offset
        var prefixes = [UInt8](repeating: 0, count: headers.count * prefixSize)
        for (index, header) in headers.enumerated() {
            let base = index * prefixSize
            withUnsafeBytes(of: UInt64(bitPattern: header.baseOffset).bigEndian) {
                prefixes.replaceSubrange(base + Offset.baseOffset..<base + Offset.batchLength, with: $0)
            }
            withUnsafeBytes(of: UInt32(header.size - RecordBatch.logOverhead).bigEndian) {
                prefixes.replaceSubrange(base + Offset.batchLength..<base + Offset.partitionLeaderEpoch, with: $0)
            }
            withUnsafeBytes(of: header.partitionLeaderEpoch.bigEndian) {
                prefixes.replaceSubrange(base + Offset.partitionLeaderEpoch..<base + prefixSize, with: $0)
            }
        }
        let total = buffer.readableBytes
        let written: Int = try withDescriptor { (descriptor) throws(LogError) -> Int in
            buffer.withUnsafeReadableBytes { bytes in
                prefixes.withUnsafeBytes { prefixBytes in
                    var vectors = [iovec]()
                    vectors.reserveCapacity(headers.count * 2)
                    var cursor = 0
                    for (index, header) in headers.enumerated() {
                        let start = Int(header.position)
                        if start > cursor {  // bytes between batches (none for well-formed input)
                            vectors.append(
                                iovec(
                                    iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + cursor),
                                    iov_len: start - cursor))
                        }
                        vectors.append(
                            iovec(
                                iov_base: UnsafeMutableRawPointer(
                                    mutating: prefixBytes.baseAddress! + index * prefixSize),
                                iov_len: prefixSize))
                        vectors.append(
                            iovec(
                                iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + start + prefixSize),
                                iov_len: header.size - prefixSize))
                        cursor = start + header.size
                    }
                    if cursor < bytes.count {
                        vectors.append(
                            iovec(
                                iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + cursor),
                                iov_len: bytes.count - cursor))
                    }
                    guard vectors.count <= 1024 else { return 0 }  // IOV_MAX on Linux
                    var result: Int
                    repeat {
                        result = pwritev(descriptor, vectors, CInt(vectors.count), off_t(position))
                    } while result < 0 && errno == EINTR
                    return result
                }
            }
        }
        if written == total { return }
        if written < 0 { throw failure("pwritev") }
        // A short write (or too many batches for one call): write the rest from a patched copy.
        var copy = buffer
        for header in headers {
            let start = copy.readerIndex + Int(header.position)
            copy.setInteger(header.baseOffset, at: start + RecordBatch.Offset.baseOffset)
            copy.setInteger(header.partitionLeaderEpoch, at: start + RecordBatch.Offset.partitionLeaderEpoch)
        }
        copy.moveReaderIndex(forwardBy: written)
        try write(copy, at: position + Int64(written))
    }

    /// Reads up to `length` bytes at `position`; fewer only at the end of the file.
    public func read(at position: Int64, length: Int) throws(LogError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        try read(at: position, length: length, into: &buffer)
        return buffer
    }

    /// Appends up to `length` bytes read at `position` to `buffer`; fewer only at the end of the file.
    func read(at position: Int64, length: Int, into buffer: inout ByteBuffer) throws(LogError) {
        try withDescriptor { (descriptor) throws(LogError) in
            var done = 0
            while done < length {
                var failed = false
                let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length - done) { bytes in
                    let count = pread(descriptor, bytes.baseAddress!, length - done, off_t(position) + off_t(done))
                    failed = count < 0
                    return max(count, 0)
                }
                if failed {
                    if errno == EINTR { continue }
                    throw failure("pread")
                }
                if count == 0 { break }
                done += count
            }
        }
    }

    public func truncate(to size: Int64) throws(LogError) {
        try withDescriptor { (descriptor) throws(LogError) in
            guard ftruncate(descriptor, off_t(size)) == 0 else { throw failure("ftruncate") }
        }
    }

    /// fsync: only from a thread that may block, never an event loop.
    public func sync() throws(LogError) {
        try withDescriptor { (descriptor) throws(LogError) in
            guard fsync(descriptor) == 0 else { throw failure("fsync") }
        }
    }

    /// A handle of its own for one `sendfile`; the caller closes it when the write completes.
    public func duplicateHandle() throws(LogError) -> NIOFileHandle {
        try withDescriptor { (descriptor) throws(LogError) -> NIOFileHandle in
            let copy = dup(descriptor)
            guard copy >= 0 else { throw failure("dup") }
            return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: copy)
        }
    }

    /// Renames the file (to `.deleted`); an open descriptor keeps working, a later reopen uses the new name.
    func rename(to newPath: String) throws(LogError) {
        try state.withLockedValueTyped { (state) throws(LogError) in
            try Self.rename(state.path, to: newPath)
            state.path = newPath
        }
    }

    private func failure(_ operation: String) -> LogError {
        LogError(.io, "\(operation) \(path): \(String(cString: strerror(errno)))")
    }

    /// Renames a file; used for `.deleted` and `.cleaned` suffixes.
    static func rename(_ from: String, to: String) throws(LogError) {
        guard Glibc.rename(from, to) == 0 else {
            throw LogError(.io, "rename \(from): \(String(cString: strerror(errno)))")
        }
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The size of a file by name, without opening it; nil if it does not exist.
    static func sizeOfFile(_ path: String) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int64(status.st_size)
    }

    /// When a file was last modified (ms since the epoch), without opening it; nil if it does not exist.
    static func modificationTimeOfFile(_ path: String) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int64(status.st_mtim.tv_sec) * 1000 + Int64(status.st_mtim.tv_nsec) / 1_000_000
    }

    /// Sets a file's modification time (the log cleaner dates a cleaned segment by its own clock).
    static func setModificationTime(_ path: String, milliseconds: Int64) {
        let time = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        let times = [time, time]
        _ = utimensat(AT_FDCWD, path, times, 0)
    }

    static func monotonicNow() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
