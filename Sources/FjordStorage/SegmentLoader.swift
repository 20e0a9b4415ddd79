import Logging

/// Finds and opens the segments of a partition folder (`PartitionLog.init`): removes leftovers of interrupted
/// deletions and temp files, settles interrupted compactions (Kafka's rule: a `.cleaned` file was never swapped
/// in and is deleted; a `<base>.log.swap` is a complete, fsynced copy, so the segment it replaces is removed and
/// the swap renamed into place), opens sealed segments lazily, recovers what an unclean shutdown may have torn, and
/// loads the active segment.
struct SegmentLoader {
    let directory: String
    let configuration: LogConfiguration
    let now: Int64
    let cache: SegmentFileCache
    let cleanShutdown: Bool
    let recoveryPoint: Int64

    func load(report: inout RecoveryReport) throws(LogError) -> [LogSegment] {
        try settleInterruptedCleaning()
        var baseOffsets = [Int64]()
        for name in try PartitionLog.listDirectory(directory) {
            if name.hasSuffix(".deleted") || name.hasSuffix(".tmp") {
                SegmentFile.remove(directory + "/" + name)
            } else if name.hasSuffix(".log"), name.count == 24, let base = Int64(name.prefix(20)) {
                baseOffsets.append(base)
            } else if name.hasSuffix(".index") || name.hasSuffix(".timeindex") || name.hasSuffix(".txnindex"),
                let base = Int64(name.prefix(20)),
                !SegmentFile.exists(directory + "/" + LogSegment.fileName(base, ".log"))
            {
                // An index without its log (a deletion interrupted between renames): remove it.
                SegmentFile.remove(directory + "/" + name)
            }
        }
        baseOffsets.sort()
        var segments = [LogSegment]()
        var cut = false
        for (index, base) in baseOffsets.enumerated() {
            if cut {
                // Everything after a segment that recovery had to cut is unreachable: drop it.
                for suffix in [".log", ".index", ".timeindex", ".txnindex"] {
                    SegmentFile.remove(directory + "/" + LogSegment.fileName(base, suffix))
                }
                report.segmentsDropped += 1
                continue
            }
            let isLast = index + 1 == baseOffsets.count
            let nextBase = isLast ? Int64.max : baseOffsets[index + 1]
            let segment: LogSegment
            if !cleanShutdown && nextBase > recoveryPoint {
                segment = try LogSegment.open(
                    directory: directory, baseOffset: base, configuration: configuration, createdAtMs: now, cache: cache
                )
                let removed = try segment.recover(epochStarts: &report.recoveredEpochStarts)
                report.recoveredSegments += 1
                report.bytesTruncated += removed
                cut = removed > 0
                if !isLast { try segment.seal() }
            } else if isLast {
                segment = try LogSegment.open(
                    directory: directory, baseOffset: base, configuration: configuration, createdAtMs: now, cache: cache
                )
                do {
                    try segment.loadActive()
                } catch {
                    // An index or tail that does not agree with the log is never trusted: rebuild from the log.
                    report.recoveredSegments += 1
                    report.bytesTruncated += try segment.recover(epochStarts: &report.recoveredEpochStarts)
                }
            } else {
                segment = LogSegment.lazy(
                    directory: directory, baseOffset: base, nextOffset: nextBase, configuration: configuration,
                    createdAtMs: now, cache: cache
                )
                report.lazySegments += 1
            }
            segments.append(segment)
        }
        return segments
    }

    private func settleInterruptedCleaning() throws(LogError) {
        for name in try PartitionLog.listDirectory(directory) {
            if name.hasSuffix(".cleaned") {
                SegmentFile.remove(directory + "/" + name)
            } else if name.hasSuffix(".swap") {
                guard name.count == 29, name.hasSuffix(".log.swap"), let base = Int64(name.prefix(20)) else {
                    SegmentFile.remove(directory + "/" + name)
                    continue
                }
                // The old segment's `.txnindex` stays: the cleaned copy has the same aborted transactions.
                for suffix in [".log", ".index", ".timeindex"] {
                    SegmentFile.remove(directory + "/" + LogSegment.fileName(base, suffix))
                }
                try PartitionLog.completeSwap(directory: directory, baseOffset: base)
            }
        }
    }
}
