import NIOConcurrencyHelpers

/// Bounds the open descriptors of segment files: when more than `maximumOpenFiles` are open, the least recently
/// used ones that no operation is using are closed (down to 90% of the bound, so eviction is amortized); they
/// reopen on their next use. A data folder with thousands of partitions and segments thus holds at most about
/// `maximumOpenFiles` descriptors, plus those pinned by operations in flight and duplicates taken for `sendfile`.
///
/// Lock order: a file's lock, then the cache's; the cache never takes a file's lock while holding its own.
public final class SegmentFileCache: @unchecked Sendable {
    /// The cache used when none is given: 1024 descriptors.
    public static let shared = SegmentFileCache(maximumOpenFiles: 1024)

    public let maximumOpenFiles: Int
    private let lock = NIOLock()
    private var open: [ObjectIdentifier: WeakFile] = [:]

    private struct WeakFile {
        weak var file: SegmentFile?
    }

    public init(maximumOpenFiles: Int) {
        precondition(maximumOpenFiles >= 1, "the cache must allow at least one open file")
        self.maximumOpenFiles = maximumOpenFiles
    }

    /// How many segment files are open now.
    public var openFileCount: Int { lock.withLock { open.count } }

    func didOpen(_ file: SegmentFile) {
        let candidates: [SegmentFile] = lock.withLock {
            open[ObjectIdentifier(file)] = WeakFile(file: file)
            guard open.count > maximumOpenFiles else { return [] }
            return open.values.compactMap(\.file)
        }
        guard !candidates.isEmpty else { return }
        let target = max(1, maximumOpenFiles * 9 / 10)
        var excess = candidates.count - target
        let byAge = candidates.map { ($0, $0.lastUseNanoseconds) }.sorted { $0.1 < $1.1 }
        for (candidate, _) in byAge where excess > 0 && candidate !== file {
            if candidate.closeDescriptor() { excess -= 1 }
        }
    }

    func didClose(_ file: SegmentFile) {
        lock.withLock { _ = open.removeValue(forKey: ObjectIdentifier(file)) }
    }
}
