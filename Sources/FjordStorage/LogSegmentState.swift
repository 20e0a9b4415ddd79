/// What a `LogSegment` publishes to readers and what its indexes hold: one value behind the segment's lock
/// (`LogSegment.state`).
///
/// Readers take the published size and next offset (and, for a lookup, an index entry) and then read the `.log`
/// outside the lock; the log's single writer changes the value only after the bytes it describes are written.
struct LogSegmentState: Sendable {
    /// Bytes of complete batches in the `.log`; nil for a lazily opened segment until first asked (then the
    /// file's size).
    var size: Int64?
    /// The offset after the last batch (the base offset while empty).
    var nextOffset: Int64
    /// Whether the indexes are in memory (false for a sealed segment nobody has used since the log opened).
    var isLoaded: Bool
    /// The largest batch `maxTimestamp` in the segment (-1 while empty or unknown) and the last offset of its batch.
    var largestTimestamp: Int64 = -1
    var offsetOfLargestTimestamp: Int64 = -1
    var bytesSinceLastIndexEntry = 0
    /// The first batch's max timestamp, which `segment.ms` counts from (as Kafka does); nil while unknown.
    var rollingBasedTimestamp: Int64?
    var offsetIndex: OffsetIndex
    var timeIndex: TimeIndex
    var transactionIndex: TransactionIndex

    mutating func noteTimestamp(_ header: BatchHeader) {
        if header.maxTimestamp > largestTimestamp {
            largestTimestamp = header.maxTimestamp
            offsetOfLargestTimestamp = header.lastOffset
        }
    }

    /// Takes in a batch written at `header.position`: its timestamp, an index entry once more than
    /// `indexIntervalBytes` were written since the last one (a small write to each index file), the next offset.
    mutating func index(_ header: BatchHeader, indexIntervalBytes: Int) throws(LogError) {
        noteTimestamp(header)
        if bytesSinceLastIndexEntry > indexIntervalBytes {
            try offsetIndex.append(offset: header.lastOffset, position: header.position)
            try timeIndex.maybeAppend(timestamp: largestTimestamp, offset: offsetOfLargestTimestamp)
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.size
        nextOffset = header.nextOffset
    }
}
