import KafkaRecords
import NIOCore

/// What one pass carries from segment to segment while it rewrites them.
struct RewritePass {
    /// Key → latest offset in the dirty range.
    var map: [[UInt8]: Int64]
    /// Batches from here on are beyond the map (dirty, not yet indexed) and are copied as they are.
    var mapEnd: Int64
    var tracker: AbortedTransactionTracker
    var lastBatchOfProducer: [Int64: Int64]
    var now: Int64
    var deleteRetentionMs: Int64
    var writeBufferBytes: Int
}

extension LogCleaner {
    /// Rewrites one sealed segment into `<base>.log.cleaned` and swaps it in if anything was removed.
    func rewrite(_ segment: LogSegment, of log: PartitionLog, pass: inout RewritePass, result: inout CleanResult)
        throws(LogError)
    {
        let sizeBefore = segment.size
        let cleanedPath = log.directory + "/" + LogSegment.fileName(segment.baseOffset, ".log.cleaned")
        let output = try SegmentFile(path: cleanedPath, create: true, cache: log.fileCache)
        var written: Int64 = 0
        var buffer = ByteBuffer()
        var removed = 0
        var completed = false
        defer {
            output.closeDescriptor(force: true)
            if !completed { SegmentFile.remove(cleanedPath) }
        }
        try output.truncate(to: 0)
        // Kafka's delete horizon, per segment: tombstones stay until their segment has been left alone this long.
        let modified = SegmentFile.modificationTimeOfFile(segment.logPath) ?? pass.now
        let tombstonesExpire = pass.now - modified > pass.deleteRetentionMs
        try log.reading { () throws(LogError) in
            try segment.forEachHeader(from: 0) { (header) throws(LogError) -> Bool in
                let batch = try Self.batch(of: header, in: segment)
                let isAborted = pass.tracker.isAborted(
                    producerID: header.producerID, baseOffset: header.baseOffset, lastOffset: header.lastOffset,
                    isTransactional: header.isTransactional, isControl: header.isControl
                )
                if header.baseOffset >= pass.mapEnd || header.isControl {
                    buffer.writeImmutableBuffer(batch.buffer)
                } else {
                    let records: [Record]
                    do {
                        records = try batch.records()
                    } catch {
                        throw LogError(.corrupt, "\(segment.logPath) at \(header.position): \(error)")
                    }
                    let kept =
                        isAborted
                        ? [] : records.filter { Self.retains($0, pass: pass, tombstonesExpire: tombstonesExpire) }
                    removed += records.count - kept.count
                    if kept.count == records.count {
                        buffer.writeImmutableBuffer(batch.buffer)
                    } else if !kept.isEmpty
                        || (header.producerID >= 0 && pass.lastBatchOfProducer[header.producerID] == header.baseOffset)
                    {
                        var rebuilt = try Self.rebuild(batch, keeping: kept)
                        buffer.writeBuffer(&rebuilt)
                    }
                }
                if buffer.readableBytes >= pass.writeBufferBytes {
                    try output.write(buffer, at: written)
                    written += Int64(buffer.readableBytes)
                    buffer.clear()
                }
                return true
            }
        }
        guard removed > 0 else { return }
        try output.write(buffer, at: written)
        written += Int64(buffer.readableBytes)
        try output.sync()
        // The cleaned segment counts as written now: its tombstones get a full `delete.retention.ms` from here.
        SegmentFile.setModificationTime(cleanedPath, milliseconds: pass.now)
        // False when the segment changed meanwhile (truncated, deleted, or the log closed): the copy is stale and
        // the deferred cleanup removes it.
        completed = try log.replaceSegment(segment, expectedSize: sizeBefore, cleanedPath: cleanedPath)
        if completed {
            result.segmentsRewritten += 1
            result.recordsRemoved += removed
            result.bytesBefore += sizeBefore
            result.bytesAfter += written
        }
    }

    /// Whether a data record survives: it has a key, no later offset holds that key, and it is not an expired
    /// tombstone.
    static func retains(_ record: Record, pass: RewritePass, tombstonesExpire: Bool) -> Bool {
        guard let key = record.key else { return false }
        if let latest = pass.map[Array(key.readableBytesView)], latest > record.offset { return false }
        if record.value == nil, tombstonesExpire { return false }
        return true
    }

    /// `batch` with only `records`: same base offset, leader epoch, producer id, epoch and base sequence,
    /// attributes and compression; each record keeps its offset delta, and the batch keeps its last offset delta
    /// (so the producer's last sequence and the offsets after it stay as they were). An empty batch keeps its
    /// timestamps.
    static func rebuild(_ batch: RecordBatch, keeping records: [Record]) throws(LogError) -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.baseOffset = batch.baseOffset
        options.partitionLeaderEpoch = batch.partitionLeaderEpoch
        options.producerID = batch.producerID
        options.producerEpoch = batch.producerEpoch
        options.baseSequence = batch.baseSequence
        options.isTransactional = batch.isTransactional
        options.timestampType = batch.timestampType
        options.compression = batch.compression ?? .none
        var builder = RecordBatchBuilder(options: options)
        for record in records { builder.append(record) }
        do {
            var rebuilt = try RecordBatch(buffer: try builder.finish())
            rebuilt.setLastOffsetDelta(batch.lastOffsetDelta)
            if records.isEmpty { rebuilt.setTimestamps(base: batch.baseTimestamp, max: batch.maxTimestamp) }
            return rebuilt.buffer
        } catch {
            throw LogError(.corrupt, "rebuilding the batch at offset \(batch.baseOffset): \(error)")
        }
    }
}
