import Logging

/// Finds and opens the segments of a partition folder (`PartitionLog.init`): removes leftovers of interrupted
/// deletions and temp files, opens sealed segments lazily, recovers what an unclean shutdown may have torn, and
/// loads the active segment.
struct SegmentLoader {
    let directory: String
    let configuration: LogConfiguration
    let now: Int64
    let cache: SegmentFileCache
    let cleanShutdown: Bool
    let recoveryPoint: Int64

    func load(report: inout RecoveryReport) throws(LogError) -> [LogSegment] {
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
                let removed = try segment.recover()
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
                    report.bytesTruncated += try segment.recover()
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
}
