import KafkaRecords
import NIOCore

/// Bytes of a segment file to send as they are: complete record batches.
public struct FileSlice: Sendable {
    public let file: SegmentFile
    public let position: Int64
    public let length: Int
}

/// The result of a read: at most one slice (Kafka reads from one segment per fetch), with the log's offsets.
public struct LogReadResult: Sendable {
    /// The batches, or nil when there is nothing to return yet.
    public var slice: FileSlice?
    /// The base offset of the first batch returned (≤ the offset asked for when it lies inside that batch).
    public var firstBatchOffset: Int64?
    /// The last offset of the last batch returned.
    public var lastBatchOffset: Int64?
    public var logStartOffset: Int64
    public var logEndOffset: Int64
}

extension PartitionLog {
    /// Locates the batches from `offset` on: up to `maximumBytes` (the first batch whole even when larger, if
    /// `minimumOneBatch`, as Kafka returns it), and only batches whose last offset is below `upperBound` (the high
    /// watermark, or the last stable offset). Throws `.offsetOutOfRange` outside `[logStartOffset, logEndOffset]`.
    public func read(
        from offset: Int64, maximumBytes: Int, upperBound: Int64, minimumOneBatch: Bool = true
    ) throws(LogError) -> LogReadResult {
        try reading { () throws(LogError) -> LogReadResult in
            let (segments, logStart) = published.withLockedValue { ($0.segments, $0.logStartOffset) }
            let end = segments.last!.nextOffset
            guard offset >= logStart, offset <= end else {
                throw LogError(
                    .offsetOutOfRange, "\(topicPartition): offset \(offset) is outside [\(logStart), \(end)]")
            }
            var result = LogReadResult(
                slice: nil, firstBatchOffset: nil, lastBatchOffset: nil, logStartOffset: logStart, logEndOffset: end)
            guard offset < end, offset < upperBound else { return result }
            var index = Self.segmentIndex(in: segments, containing: offset)
            while index < segments.count {
                let segment = segments[index]
                if let found = try segment.read(
                    from: offset, maximumBytes: maximumBytes, upperBound: upperBound, minimumOneBatch: minimumOneBatch)
                {
                    result.slice = FileSlice(file: segment.log, position: found.position, length: found.length)
                    result.firstBatchOffset = found.firstOffset
                    result.lastBatchOffset = found.lastOffset
                    return result
                }
                // Nothing at or after `offset` in this segment (or it is above the bound): try the next one only when
                // this segment simply ended.
                if segment.nextOffset > offset {
                    let batch = try segment.findBatch(containingOrAfter: offset)
                    if batch != nil { break }
                }
                index += 1
            }
            return result
        }
    }

    /// Whether a read from `offset` finds its segment's indexes in memory. A sealed segment nobody has read since
    /// the log opened loads them on first use, and rebuilds them if they do not agree with the log: file I/O that
    /// an event loop must not do, so the fetch path asks first and has `prepareRead` run on the I/O thread pool.
    public func isReadyToRead(from offset: Int64) -> Bool {
        let segments = self.segments
        return segments[Self.segmentIndex(in: segments, containing: offset)].isIndexLoaded
    }

    /// Loads the indexes of the segment a read from `offset` starts in (rebuilding them if need be). Blocking.
    public func prepareRead(from offset: Int64) throws(LogError) {
        try reading { () throws(LogError) in
            let segments = self.segments
            try segments[Self.segmentIndex(in: segments, containing: offset)].loadIndexes()
        }
    }

    /// Reads the bytes of a slice into memory (for tests, dumps and followers; fetch sends slices with sendfile).
    public func bytes(of slice: FileSlice) throws(LogError) -> ByteBuffer {
        try slice.file.read(at: slice.position, length: slice.length)
    }

    /// The index of the last segment whose base offset is ≤ `offset` (0 if none is).
    static func segmentIndex(in segments: [LogSegment], containing offset: Int64) -> Int {
        var low = 0
        var high = segments.count - 1
        var found = 0
        while low <= high {
            let middle = (low + high) / 2
            if segments[middle].baseOffset <= offset {
                found = middle
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return found
    }
}
