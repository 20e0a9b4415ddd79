import NIOConcurrencyHelpers

/// Bounds the open descriptors of segment files: when more than `maximumOpenFiles` are open, the least recently
/// used ones that no operation is using are closed (down to 90% of the bound, so eviction is amortized); they
/// reopen on their next use. A data folder with thousands of partitions and segments thus holds at most about
/// `maximumOpenFiles` descriptors, plus those pinned by operations in flight and duplicates taken for `sendfile`.
///
/// Lock order: a file's lock, then the cache's; the cache never takes a file's lock while holding its own.
public final class SegmentFileCache: Sendable {
    /// The cache used when none is given: 1024 descriptors.
    public static let shared = SegmentFileCache(maximumOpenFiles: 1024)

    public let maximumOpenFiles: Int
    /// The files with an open descriptor (weakly: a file closes its descriptor and leaves when it is freed).
    private let open = NIOLockedValueBox<[ObjectIdentifier: WeakFile]>([:])

    private struct WeakFile: Sendable {
        weak var file: SegmentFile?
    }

    public init(maximumOpenFiles: Int) {
        precondition(maximumOpenFiles >= 1, "the cache must allow at least one open file")
        self.maximumOpenFiles = maximumOpenFiles
    }

    /// How many segment files are open now.
    public var openFileCount: Int { open.withLockedValue { $0.count } }

    func didOpen(_ file: SegmentFile) {
        let candidates: [SegmentFile] = open.withLockedValue { open in
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
        _ = open.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(file)) }
    }
}
