extension PartitionLog {
    /// Removes every record at or after `offset` (a follower dropping what a new leader never had). A batch that
    /// holds `offset` goes whole, as in Kafka; the log end becomes that batch's base offset. The leader epochs that
    /// start at or after the new log end go too — also when `offset` is at or past the log end and no record goes.
    public func truncate(to offset: Int64) throws(LogError) {
        let now = clock.nowMilliseconds()
        try locked { (state) throws(LogError) in
            try truncationLock.withWriteLock { () throws(LogError) in
                var segments = self.segments
                guard offset < segments.last!.nextOffset else {
                    // Nothing to remove, but an epoch may start at the log end (this replica led an epoch without
                    // appending): it goes, as in Kafka's truncateTo, or the replica would diverge on every fetch.
                    try state.epochs.truncate(fromEnd: segments.last!.nextOffset)
                    return
                }
                if offset <= segments.first!.baseOffset && offset <= logStartOffsetStorage {
                    try truncateFullyLocked(startingAt: offset, now: now, &state)
                    return
                }
                while segments.count > 1, segments.last!.baseOffset >= offset {
                    let removed = segments.removeLast()
                    try removed.markDeleted()
                    removed.removeDeletedFiles()
                }
                self.segments = segments
                try segments.last!.truncate(toOffset: offset)
                try segments.last!.preallocateIndexes()
                let end = segments.last!.nextOffset
                state.recoveryPoint = min(state.recoveryPoint, end)
                try state.epochs.truncate(fromEnd: end)
                logger.info("truncated log", metadata: ["partition": "\(topicPartition)", "log.end.offset": "\(end)"])
            }
        }
    }

    /// Deletes everything and restarts the log empty at `offset` (a replica too far behind, or a reset).
    public func truncateFully(startingAt offset: Int64) throws(LogError) {
        let now = clock.nowMilliseconds()
        try locked { (state) throws(LogError) in
            try truncationLock.withWriteLock { () throws(LogError) in
                try truncateFullyLocked(startingAt: offset, now: now, &state)
            }
        }
    }

    private func truncateFullyLocked(startingAt offset: Int64, now: Int64, _ state: inout WriterState) throws(LogError)
    {
        for segment in segments {
            try segment.markDeleted()
            segment.removeDeletedFiles()
        }
        let segment = try LogSegment.create(
            directory: directory, baseOffset: offset, configuration: state.configuration, createdAtMs: now,
            cache: fileCache
        )
        try segment.preallocateIndexes()
        published.withLockedValue { $0 = Published(segments: [segment], logStartOffset: offset) }
        state.recoveryPoint = offset
        try state.epochs.clear()
    }

    /// Moves the log start offset up (DeleteRecords): records below `offset` are no longer readable, and whole
    /// segments below it are deleted. Returns the new log start offset. `offset` may not pass the log end.
    @discardableResult
    public func advanceLogStartOffset(to offset: Int64) throws(LogError) -> Int64 {
        let now = clock.nowMilliseconds()
        return try locked { (state) throws(LogError) -> Int64 in
            let end = activeSegment.nextOffset
            guard offset <= end else {
                throw LogError(
                    .offsetOutOfRange, "\(topicPartition): log start \(offset) would pass the log end \(end)")
            }
            guard offset > logStartOffsetStorage else { return logStartOffsetStorage }
            logStartOffsetStorage = offset
            try state.epochs.truncate(fromStart: offset)
            try deleteSegmentsLocked(now: now, &state) { (segment) throws(LogError) -> Bool in
                segment.nextOffset <= offset
            }
            return logStartOffsetStorage
        }
    }
}
