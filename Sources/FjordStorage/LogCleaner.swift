import KafkaRecords
import NIOCore

/// Log compaction of one partition (`cleanup.policy=compact`), Kafka's log cleaner: keeps, for every key, at least
/// the record with its latest value. Offsets never change; compaction only leaves gaps.
///
/// A pass over a log (`clean`):
/// 1. The cleanable range ends at the first uncleanable offset: the active segment's base offset, the caller's
///    `upperBound` (the last stable offset, so no open transaction is touched), and the base of the first segment
///    holding a record newer than `min.compaction.lag.ms`.
/// 2. The dirty part — from the first dirty offset (the `cleaner-offset-checkpoint` entry: where the previous pass
///    ended) to that end — is read into a map of key → latest offset. The map holds at most
///    `maximumMapEntries` keys; when full, only a prefix of the dirty part is cleaned this pass.
/// 3. Every segment from the log start up to the end of what the map covers is rewritten (`LogCleaner+Rewrite`):
///    a record goes when a later offset holds its key, when it has no key, when it is data of an aborted
///    transaction, or when it is a tombstone whose segment was last written or cleaned more than
///    `delete.retention.ms` ago. Control batches stay. A batch whose records all stay is copied byte for byte; one
///    that lost some is rebuilt with its base offset, producer fields, last offset delta and each record's offset
///    delta; an idempotent batch that lost all its records stays empty only if it is its producer's last in the
///    range (so the producer's sequence survives), else it goes.
/// 4. A rewritten segment is swapped in (`PartitionLog.replaceSegment`): `<base>.log.cleaned` is written and
///    fsynced; under the log's lock it is renamed `<base>.log.swap`, the old segment's files become `.deleted` and
///    the swap file `<base>.log`. `SegmentLoader` deletes a leftover `.cleaned` and completes a leftover `.swap`.
///
/// Pure apart from the files: it reads the time from the log's injectable clock and keeps no state between passes
/// (the caller keeps the checkpoint; `LogManager.cleanCompactedLogs`).
public struct LogCleaner: Sendable {
    public struct Configuration: Sendable {
        /// Most distinct keys one pass indexes. Kafka sizes its map by `log.cleaner.dedupe.buffer.size` (128 MiB,
        /// 24 bytes an entry); this counts entries. Default 1,000,000.
        public var maximumMapEntries: Int = 1_000_000
        /// Rewritten bytes buffered before they are written to the `.cleaned` file. Default 1 MiB.
        public var writeBufferBytes: Int = 1 << 20

        public init() {}
    }

    /// What a log offers to clean now.
    public struct Cleanability: Sendable, Equatable {
        public var firstDirtyOffset: Int64
        /// The end of the cleanable range (exclusive).
        public var firstUncleanableOffset: Int64
        /// Bytes of the segments below the first dirty offset.
        public var cleanBytes: Int64
        /// Bytes of the segments holding the cleanable dirty range.
        public var dirtyBytes: Int64
        /// Whether the oldest dirty record is older than `max.compaction.lag.ms`.
        public var isOverdue: Bool

        /// dirty / (clean + dirty); 0 for an empty log.
        public var dirtyRatio: Double {
            cleanBytes + dirtyBytes == 0 ? 0 : Double(dirtyBytes) / Double(cleanBytes + dirtyBytes)
        }

        /// Whether a pass is due: something is cleanable and the dirty ratio reaches `minimumRatio`, or it is overdue.
        public func isDue(minimumRatio: Double) -> Bool {
            firstUncleanableOffset > firstDirtyOffset && dirtyBytes > 0 && (dirtyRatio >= minimumRatio || isOverdue)
        }
    }

    /// What a pass did.
    public struct CleanResult: Sendable, Equatable {
        /// Where the next pass's dirty part starts (the new checkpoint): the end of what the map covered.
        public var endOffset: Int64
        public var segmentsRewritten = 0
        public var recordsRemoved = 0
        public var bytesBefore: Int64 = 0
        public var bytesAfter: Int64 = 0
    }

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The first dirty offset to use for `log` given its checkpoint entry: the log start when there is none or it
    /// lies outside the log (a truncated or reset log), as Kafka does.
    public static func firstDirtyOffset(checkpoint: Int64?, log: PartitionLog) -> Int64 {
        let start = log.logStartOffset
        guard let checkpoint, checkpoint >= start, checkpoint <= log.logEndOffset else { return start }
        return checkpoint
    }

    /// The cleanable range and dirty ratio of `log` (Kafka's `cleanableOffsets` and `dirtyRatio`).
    public func cleanability(of log: PartitionLog, firstDirtyOffset: Int64, upperBound: Int64 = .max) throws(LogError)
        -> Cleanability
    {
        let configuration = log.configuration
        let now = log.clock.nowMilliseconds()
        let segments = log.segments
        var end = min(segments.last!.baseOffset, upperBound)
        if configuration.minCompactionLagMs > 0 {
            for (index, segment) in segments.enumerated().dropLast() where segment.baseOffset < end {
                guard Self.nextBase(segments, index) > firstDirtyOffset else { continue }
                if try segment.largestTimestamp().timestamp > now - configuration.minCompactionLagMs {
                    end = min(end, segment.baseOffset)
                    break
                }
            }
        }
        var result = Cleanability(
            firstDirtyOffset: firstDirtyOffset, firstUncleanableOffset: max(end, firstDirtyOffset), cleanBytes: 0,
            dirtyBytes: 0, isOverdue: false
        )
        var firstDirtySegment: LogSegment?
        for (index, segment) in segments.enumerated().dropLast() {
            let next = Self.nextBase(segments, index)
            if next <= firstDirtyOffset {
                result.cleanBytes += segment.size
            } else if segment.baseOffset < end {
                result.dirtyBytes += segment.size
                if firstDirtySegment == nil { firstDirtySegment = segment }
            }
        }
        if configuration.maxCompactionLagMs < .max, let segment = firstDirtySegment,
            let first = try segment.findBatch(containingOrAfter: firstDirtyOffset), first.maxTimestamp >= 0
        {
            result.isOverdue = now - first.maxTimestamp > configuration.maxCompactionLagMs
        }
        return result
    }

    /// One compaction pass over `log` from `firstDirtyOffset`, never past `upperBound` (the last stable offset).
    /// Blocking: run it on a thread that may block. Safe alongside appends, reads and retention: segments are
    /// swapped under the log's lock only if they are still what was read.
    public func clean(_ log: PartitionLog, firstDirtyOffset: Int64, upperBound: Int64 = .max) throws(LogError)
        -> CleanResult
    {
        let range = try cleanability(of: log, firstDirtyOffset: firstDirtyOffset, upperBound: upperBound)
        var result = CleanResult(endOffset: firstDirtyOffset)
        guard range.firstUncleanableOffset > firstDirtyOffset else { return result }
        let segments = log.segments
        let aborted = try log.abortedTransactions(
            from: segments.first!.baseOffset, upperBound: range.firstUncleanableOffset)
        let (map, mapEnd) = try buildOffsetMap(
            segments, from: firstDirtyOffset, to: range.firstUncleanableOffset, aborted: aborted
        )
        result.endOffset = mapEnd
        guard mapEnd > firstDirtyOffset else { return result }
        let toClean = Array(segments.dropLast().prefix { $0.baseOffset < mapEnd })
        var pass = RewritePass(
            map: map, mapEnd: mapEnd, tracker: AbortedTransactionTracker(aborted),
            lastBatchOfProducer: try Self.lastBatchOfProducers(toClean, below: mapEnd),
            now: log.clock.nowMilliseconds(), deleteRetentionMs: log.configuration.deleteRetentionMs,
            writeBufferBytes: configuration.writeBufferBytes
        )
        // `rewrite` holds the truncation lock (shared) only while it reads the segment, never while it swaps the
        // copy in under the writer lock: truncation takes the two the other way round (docs/ARCHITECTURE.md).
        for segment in toClean {
            try rewrite(segment, of: log, pass: &pass, result: &result)
        }
        return result
    }

    /// The key → latest offset map of the dirty range `[from, to)`, and where it ends (a batch boundary; the
    /// next segment's base when a segment was read whole). Keyless records, control batches and aborted data are
    /// not indexed.
    private func buildOffsetMap(
        _ segments: [LogSegment], from firstDirty: Int64, to end: Int64, aborted: [AbortedTransaction]
    ) throws(LogError) -> (map: [[UInt8]: Int64], end: Int64) {
        var map = [[UInt8]: Int64]()
        var tracker = AbortedTransactionTracker(aborted)
        var mapEnd = firstDirty
        for (index, segment) in segments.enumerated().dropLast() where segment.baseOffset < end {
            guard Self.nextBase(segments, index) > firstDirty else { continue }
            var stopped = false
            try segment.forEachHeader(from: 0) { (header) throws(LogError) -> Bool in
                let isAborted = tracker.isAborted(
                    producerID: header.producerID, baseOffset: header.baseOffset, lastOffset: header.lastOffset,
                    isTransactional: header.isTransactional, isControl: header.isControl
                )
                guard header.lastOffset >= firstDirty else { return true }
                if header.baseOffset >= end || map.count >= configuration.maximumMapEntries {
                    stopped = true
                    return false
                }
                if !header.isControl, !isAborted {
                    for record in try Self.records(of: header, in: segment) where record.offset >= firstDirty {
                        if let key = record.key { map[Array(key.readableBytesView)] = record.offset }
                    }
                }
                mapEnd = header.nextOffset
                return true
            }
            if stopped { break }
            mapEnd = max(mapEnd, min(Self.nextBase(segments, index), end))
        }
        return (map, mapEnd)
    }

    /// Each producer's last data batch (base offset) below `mapEnd` in `segments`.
    private static func lastBatchOfProducers(_ segments: [LogSegment], below mapEnd: Int64) throws(LogError) -> [Int64:
        Int64]
    {
        var last = [Int64: Int64]()
        for segment in segments {
            try segment.forEachHeader(from: 0) { (header) throws(LogError) -> Bool in
                guard header.baseOffset < mapEnd else { return false }
                if header.producerID >= 0, !header.isControl { last[header.producerID] = header.baseOffset }
                return true
            }
        }
        return last
    }

    /// The base offset of the segment after `index` (where this one's offsets end).
    static func nextBase(_ segments: [LogSegment], _ index: Int) -> Int64 {
        index + 1 < segments.count ? segments[index + 1].baseOffset : segments[index].nextOffset
    }

    /// The bytes of the batch `header` describes, checked to be whole.
    static func batch(of header: BatchHeader, in segment: LogSegment) throws(LogError) -> RecordBatch {
        let bytes = try segment.log.read(at: header.position, length: header.size)
        guard bytes.readableBytes == header.size, let batch = try? RecordBatch(buffer: bytes) else {
            throw LogError(.corrupt, "\(segment.logPath) at \(header.position): incomplete batch")
        }
        return batch
    }

    static func records(of header: BatchHeader, in segment: LogSegment) throws(LogError) -> [Record] {
        do {
            return try batch(of: header, in: segment).records()
        } catch let error as LogError {
            throw error
        } catch {
            throw LogError(.corrupt, "\(segment.logPath) at \(header.position): \(error)")
        }
    }
}
