import KafkaProtocol
import KafkaRecords
import NIOCore

/// The outcome of an append.
public struct AppendResult: Sendable, Equatable {
    /// The offset given to the first record appended.
    public var firstOffset: Int64
    /// The offset of the last record appended.
    public var lastOffset: Int64
    /// The time stamped on the batches with `LogAppendTime`, or -1 for `CreateTime`.
    public var logAppendTime: Int64
    public var logStartOffset: Int64
    /// Set when the flush policy (`flush.messages`, `flush.ms`) asks for an fsync now; the caller runs `flush()`
    /// on a thread that may block.
    public var flushRequested: Bool
}

extension PartitionLog {
    /// Appends record batches as a leader: gives them the next offsets by patching each batch's base offset in
    /// place, stamps `leaderEpoch`, and with `LogAppendTime` stamps `now` as the batch timestamp.
    ///
    /// `records` holds one or more complete v2 batches that the caller has validated (CRC, lengths, counts).
    public func append(
        _ records: ByteBuffer, leaderEpoch: LeaderEpoch, timestampType: TimestampType = .createTime
    ) throws(LogError) -> AppendResult {
        let now = clock.nowMilliseconds()
        return try locked { (state) throws(LogError) -> AppendResult in
            guard !state.isClosed else { throw LogError(.closed, "\(topicPartition) is closed") }
            var output = records
            var headers = [BatchHeader]()
            var nextOffset = activeSegment.nextOffset
            let firstOffset = nextOffset
            var position = output.readerIndex
            var messages: Int64 = 0
            let stampTime = timestampType == .logAppendTime
            headers.reserveCapacity(1)
            while position < output.writerIndex {
                guard let batchHeader = RecordBatchHeader(parsing: output, at: position), batchHeader.batchLength >= 0,
                    position + batchHeader.sizeInBytes <= output.writerIndex,
                    batchHeader.sizeInBytes >= RecordBatch.headerSize, batchHeader.lastOffsetDelta >= 0
                else {
                    throw LogError(.corrupt, "\(topicPartition): append of bytes that are not whole record batches")
                }
                let size = batchHeader.sizeInBytes
                if stampTime {
                    // The CRC covers the timestamps: patch a copy (once per append) and recompute it.
                    var batch = try! RecordBatch(buffer: output.getSlice(at: position, length: size)!)
                    batch.stampLogAppendTime(now)
                    output.setBuffer(batch.buffer, at: position)
                }
                var header = BatchHeader(parsing: output, at: position, position: Int64(position - output.readerIndex))!
                // Base offset and leader epoch lie outside the CRC: they are patched on the way to the file
                // (`LogSegment.append` writes each batch's first 16 bytes from the header), never copying the batch.
                header.baseOffset = nextOffset
                header.partitionLeaderEpoch = leaderEpoch
                headers.append(header)
                messages += Int64(batchHeader.recordCount)
                nextOffset += Int64(batchHeader.lastOffsetDelta) + 1
                position += size
            }
            guard !headers.isEmpty else { throw LogError(.corrupt, "\(topicPartition): append of no batches") }
            try appendLocked(output, headers: headers, patchingPrefixes: true, now: now, &state)
            try state.epochs.noteAppended(epoch: leaderEpoch, startOffset: firstOffset)
            return AppendResult(
                firstOffset: firstOffset, lastOffset: nextOffset - 1,
                logAppendTime: timestampType == .logAppendTime ? now : -1, logStartOffset: logStartOffsetStorage,
                flushRequested: noteUnflushed(messages: messages, now: now, &state)
            )
        }
    }

    /// Appends batches that already carry their offsets and epochs, as a follower copying its leader. The first
    /// batch must start at the log end offset.
    public func appendAsFollower(_ records: ByteBuffer) throws(LogError) -> AppendResult {
        let now = clock.nowMilliseconds()
        return try locked { (state) throws(LogError) -> AppendResult in
            guard !state.isClosed else { throw LogError(.closed, "\(topicPartition) is closed") }
            var headers = [BatchHeader]()
            var expected = activeSegment.nextOffset
            let firstOffset = expected
            var position = records.readerIndex
            var messages: Int64 = 0
            while position < records.writerIndex {
                guard
                    let header = BatchHeader(
                        parsing: records, at: position, position: Int64(position - records.readerIndex)),
                    position + header.size <= records.writerIndex,
                    let batch = try? RecordBatch(buffer: records.getSlice(at: position, length: header.size)!),
                    batch.isCRCValid
                else {
                    throw LogError(.corrupt, "\(topicPartition): replicated bytes are not whole valid batches")
                }
                guard header.baseOffset >= expected else {
                    throw LogError(
                        .invalidOffset,
                        "\(topicPartition): batch at \(header.baseOffset) is before the log end \(expected)")
                }
                try state.epochs.noteAppended(epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset)
                headers.append(header)
                messages += Int64(batch.recordCount)
                expected = header.nextOffset
                position += header.size
            }
            guard !headers.isEmpty else {
                return AppendResult(
                    firstOffset: firstOffset, lastOffset: firstOffset - 1, logAppendTime: -1,
                    logStartOffset: logStartOffsetStorage, flushRequested: false)
            }
            try appendLocked(records, headers: headers, now: now, &state)
            return AppendResult(
                firstOffset: headers[0].baseOffset, lastOffset: expected - 1, logAppendTime: -1,
                logStartOffset: logStartOffsetStorage,
                flushRequested: noteUnflushed(messages: messages, now: now, &state)
            )
        }
    }

    /// Writes to the active segment, rolling first when the segment is full, old, or its indexes are.
    private func appendLocked(
        _ bytes: ByteBuffer, headers: [BatchHeader], patchingPrefixes: Bool = false, now: Int64,
        _ state: inout WriterState
    ) throws(LogError) {
        var active = activeSegment
        let maxTimestamp = headers.lazy.map(\.maxTimestamp).max()!
        if active.needsRoll(
            adding: bytes.readableBytes, lastOffset: headers.last!.lastOffset, maxTimestamp: maxTimestamp, now: now,
            configuration: state.configuration)
        {
            try rollLocked(newBaseOffset: headers[0].baseOffset, now: now, configuration: state.configuration)
            active = activeSegment
        }
        try active.append(bytes, headers: headers, patchingPrefixes: patchingPrefixes)
    }

    /// Starts a new active segment at `newBaseOffset`. The old one is sealed (indexes trimmed); it is fsynced off
    /// the appender's thread by `flushRolledSegments()` (the `LogFlusher`'s next pass) or the next `flush()`.
    func rollLocked(newBaseOffset: Int64, now: Int64, configuration: LogConfiguration) throws(LogError) {
        let old = activeSegment
        try old.seal()
        let segment = try LogSegment.create(
            directory: directory, baseOffset: newBaseOffset, configuration: configuration, createdAtMs: now,
            cache: fileCache
        )
        try segment.preallocateIndexes()
        published.withLockedValue { $0.segments.append(segment) }
        logger.debug("rolled segment", metadata: ["partition": "\(topicPartition)", "base.offset": "\(newBaseOffset)"])
    }

    /// Rolls the active segment now (if it holds anything).
    public func roll() throws(LogError) {
        let now = clock.nowMilliseconds()
        try locked { (state) throws(LogError) in
            let active = activeSegment
            guard !active.isEmpty else { return }
            try rollLocked(newBaseOffset: active.nextOffset, now: now, configuration: state.configuration)
        }
    }

    private func noteUnflushed(messages: Int64, now: Int64, _ state: inout WriterState) -> Bool {
        state.unflushedMessages += messages
        if state.firstUnflushedAppendMs == nil { state.firstUnflushedAppendMs = now }
        let requested =
            state.unflushedMessages >= state.configuration.flushMessages
            || now - (state.firstUnflushedAppendMs ?? now) >= state.configuration.flushMs
        if requested { state.flushRequested = true }
        return requested
    }

    /// Whether the flush policy wants an fsync at `now`: `flush.messages` was reached (an append returned
    /// `flushRequested`), or the oldest unflushed append is `flush.ms` old. `LogFlusher` asks this.
    public func isFlushDue(now: Int64) -> Bool {
        writer.withLockedValue { state in
            guard let first = state.firstUnflushedAppendMs else { return false }
            return state.flushRequested || now - first >= state.configuration.flushMs
        }
    }

    /// fsyncs every segment that has unflushed data and moves the recovery point to the log end.
    /// Blocking: call it from a thread pool, never an event loop.
    public func flush() throws(LogError) {
        let (toSync, end) = writer.withLockedValue { state -> ([LogSegment], Int64) in
            let segments = self.segments
            let end = segments.last!.nextOffset
            let recoveryPoint = state.recoveryPoint
            let pending = segments.filter { $0.nextOffset > recoveryPoint || $0 === segments.last! }
            state.unflushedMessages = 0
            state.firstUnflushedAppendMs = nil
            state.flushRequested = false
            return (pending, end)
        }
        for segment in toSync { try segment.sync() }
        writer.withLockedValue { $0.recoveryPoint = max($0.recoveryPoint, end) }
    }

    /// fsyncs the segments sealed by rolls since the last flush and moves the recovery point to the active
    /// segment's base, as Kafka flushes a segment once it rolls. Returns whether anything was synced. Blocking.
    @discardableResult
    public func flushRolledSegments() throws(LogError) -> Bool {
        let (toSync, activeBase) = writer.withLockedValue { state -> ([LogSegment], Int64) in
            let segments = self.segments
            let activeBase = segments.last!.baseOffset
            let recoveryPoint = state.recoveryPoint
            guard recoveryPoint < activeBase else { return ([], activeBase) }
            return (segments.dropLast().filter { $0.nextOffset > recoveryPoint }, activeBase)
        }
        guard !toSync.isEmpty else { return false }
        for segment in toSync { try segment.sync() }
        writer.withLockedValue { state in
            state.recoveryPoint = max(state.recoveryPoint, min(activeBase, activeSegment.nextOffset))
        }
        return true
    }

    /// Flushes and seals the log; later calls fail with `.closed`.
    public func close() throws(LogError) {
        try flush()
        try locked { (state) throws(LogError) in
            guard !state.isClosed else { return }
            state.isClosed = true
            try activeSegment.seal()
            for pending in state.pendingDeletions { pending.segment.removeDeletedFiles() }
            state.pendingDeletions.removeAll()
        }
    }
}
