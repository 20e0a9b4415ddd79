extension PartitionLog {
    /// Removes every record at or after `offset` (a follower dropping what a new leader never had). A batch that
    /// holds `offset` goes whole, as in Kafka; the log end becomes that batch's base offset.
    public func truncate(to offset: Int64) throws(LogError) {
        let now = clock.nowMilliseconds()
        try locked { () throws(LogError) in try truncationLock.withWriteLock { () throws(LogError) in
            guard offset < segments.last!.nextOffset else { return }
            if offset <= segments.first!.baseOffset && offset <= logStartOffsetStorage {
                try truncateFullyLocked(startingAt: offset, now: now)
                return
            }
            var segments = self.segments
            while segments.count > 1, segments.last!.baseOffset >= offset {
                let removed = segments.removeLast()
                try removed.markDeleted()
                removed.removeDeletedFiles()
            }
            self.segments = segments
            try segments.last!.truncate(toOffset: offset)
            try segments.last!.preallocateIndexes()
            let end = segments.last!.nextOffset
            recoveryPointStorage = min(recoveryPointStorage, end)
            try epochs.truncate(fromEnd: end)
            logger.info("truncated log", metadata: ["partition": "\(topicPartition)", "log.end.offset": "\(end)"])
        } }
    }

    /// Deletes everything and restarts the log empty at `offset` (a replica too far behind, or a reset).
    public func truncateFully(startingAt offset: Int64) throws(LogError) {
        let now = clock.nowMilliseconds()
        try locked { () throws(LogError) in
            try truncationLock.withWriteLock { () throws(LogError) in try truncateFullyLocked(startingAt: offset, now: now) }
        }
    }

    private func truncateFullyLocked(startingAt offset: Int64, now: Int64) throws(LogError) {
        for segment in segments {
            try segment.markDeleted()
            segment.removeDeletedFiles()
        }
        let segment = try LogSegment.create(
            directory: directory, baseOffset: offset, configuration: configurationStorage, createdAtMs: now, cache: fileCache
        )
        try segment.preallocateIndexes()
        segments = [segment]
        logStartOffsetStorage = offset
        recoveryPointStorage = offset
        try epochs.clear()
    }

    /// Moves the log start offset up (DeleteRecords): records below `offset` are no longer readable, and whole
    /// segments below it are deleted. Returns the new log start offset. `offset` may not pass the log end.
    @discardableResult
    public func advanceLogStartOffset(to offset: Int64) throws(LogError) -> Int64 {
        let now = clock.nowMilliseconds()
        return try locked { () throws(LogError) -> Int64 in
            let end = segments.last!.nextOffset
            guard offset <= end else {
                throw LogError(.offsetOutOfRange, "\(topicPartition): log start \(offset) would pass the log end \(end)")
            }
            guard offset > logStartOffsetStorage else { return logStartOffsetStorage }
            logStartOffsetStorage = offset
            try epochs.truncate(fromStart: offset)
            try deleteSegmentsLocked(now: now) { (segment) throws(LogError) -> Bool in segment.nextOffset <= offset }
            return logStartOffsetStorage
        }
    }
}
