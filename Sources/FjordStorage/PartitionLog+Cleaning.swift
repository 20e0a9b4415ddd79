import Glibc

extension PartitionLog {
    /// Swaps in the cleaned copy of `old` (`<base>.log.cleaned`, written and fsynced by `LogCleaner`). Under the
    /// writer lock, once `old` is checked to still be a sealed segment of this log of `expectedSize` bytes: the copy
    /// is renamed `<base>.log.swap` (from here a crash completes the swap at the next open), `old`'s `.log`,
    /// `.index` and `.timeindex` become `.deleted` (removed `file.delete.delay.ms` later, so reads that took the old
    /// segment keep working) and the swap file becomes `<base>.log`; its indexes are rebuilt from it on first use.
    /// A copy with nothing left replaces `old` by nothing (unless it is the first segment).
    /// Renaming to `.swap` only under the lock means a crash can never resurrect a segment that retention or
    /// truncation removed meanwhile. Returns false, changing nothing, when the check fails (truncated, deleted, or
    /// the log closed); the caller then removes the copy.
    func replaceSegment(_ old: LogSegment, expectedSize: Int64, cleanedPath: String) throws(LogError) -> Bool {
        let now = clock.nowMilliseconds()
        return try locked { (state) throws(LogError) -> Bool in
            var segments = self.segments
            guard !state.isClosed, let index = segments.firstIndex(where: { $0 === old }), index + 1 < segments.count,
                old.size == expectedSize
            else { return false }
            if index > 0, SegmentFile.sizeOfFile(cleanedPath) == 0 {
                // Nothing left (and so no transaction marker, nor aborted-transaction entry): drop the segment
                // rather than keep an empty file. The first segment stays, so the log start offset does not move.
                SegmentFile.remove(cleanedPath)
                try old.markDeleted()
                state.pendingDeletions.append((now + state.configuration.fileDeleteDelayMs, old))
                segments.remove(at: index)
                self.segments = segments
                return true
            }
            try SegmentFile.rename(cleanedPath, to: directory + "/" + LogSegment.fileName(old.baseOffset, ".log.swap"))
            // A previous cleaning of the same segment may still have `.deleted` files waiting: remove them now so
            // the renames below do not land on them.
            state.pendingDeletions.removeAll { pending in
                guard pending.segment.baseOffset == old.baseOffset else { return false }
                pending.segment.removeDeletedFiles()
                return true
            }
            try old.markDeleted(keepingTransactionIndex: true)
            state.pendingDeletions.append((now + state.configuration.fileDeleteDelayMs, old))
            try Self.completeSwap(directory: directory, baseOffset: old.baseOffset)
            segments[index] = LogSegment.lazy(
                directory: directory, baseOffset: old.baseOffset, nextOffset: segments[index + 1].baseOffset,
                configuration: state.configuration, createdAtMs: now, cache: fileCache
            )
            self.segments = segments
            return true
        }
    }

    /// Renames `<base>.log.swap` to `<base>.log` and fsyncs the folder so the rename survives a crash. The old
    /// segment's `.log`, `.index` and `.timeindex` must be gone (renamed or removed) first.
    static func completeSwap(directory: String, baseOffset: Int64) throws(LogError) {
        let path = directory + "/" + LogSegment.fileName(baseOffset, ".log")
        try SegmentFile.rename(path + ".swap", to: path)
        let descriptor = Glibc.open(directory, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            Glibc.close(descriptor)
        }
    }
}
