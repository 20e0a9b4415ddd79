extension PartitionLog {
    /// One retention pass (Kafka's `deleteOldSegments`): deletes whole segments — never the active one — whose
    /// newest record is older than `retention.ms`, then the oldest while the log is larger than `retention.bytes`.
    /// Deleted segments are renamed to `*.deleted` and their files removed `file.delete.delay.ms` later, by a
    /// later pass. Returns the number of segments deleted.
    @discardableResult
    public func applyRetention() throws(LogError) -> Int {
        let now = clock.nowMilliseconds()
        return try locked { (state) throws(LogError) -> Int in
            removeExpiredDeletionsLocked(now: now, &state)
            guard state.configuration.deleteRetentionEnabled else { return 0 }
            var deleted = 0
            let retentionMs = state.configuration.retentionMs
            if retentionMs >= 0 {
                deleted += try deleteSegmentsLocked(now: now, &state) { (segment) throws(LogError) -> Bool in
                    let largest = try segment.largestTimestamp().timestamp
                    return largest >= 0 ? now - largest > retentionMs : now - segment.createdAtMs > retentionMs
                }
            }
            let retentionBytes = state.configuration.retentionBytes
            if retentionBytes >= 0 {
                var excess = segments.reduce(0) { $0 + $1.size } - retentionBytes
                deleted += try deleteSegmentsLocked(now: now, &state) { (segment) throws(LogError) -> Bool in
                    guard excess >= segment.size else { return false }
                    excess -= segment.size
                    return true
                }
            }
            return deleted
        }
    }

    /// Deletes the oldest segments while `shouldDelete` holds for them, keeping the active segment; moves the log
    /// start offset to the first remaining segment.
    @discardableResult
    func deleteSegmentsLocked(
        now: Int64, _ state: inout WriterState, _ shouldDelete: (LogSegment) throws(LogError) -> Bool
    ) throws(LogError) -> Int {
        var deleted = 0
        var segments = self.segments
        defer { self.segments = segments }
        while segments.count > 1, try shouldDelete(segments[0]) {
            let segment = segments.removeFirst()
            try segment.markDeleted()
            state.pendingDeletions.append((now + state.configuration.fileDeleteDelayMs, segment))
            deleted += 1
        }
        if deleted > 0 {
            let logStart = published.withLockedValue { published in
                published.segments = segments
                published.logStartOffset = max(published.logStartOffset, segments[0].baseOffset)
                return published.logStartOffset
            }
            try state.epochs.truncate(fromStart: logStart)
            logger.info(
                "deleted segments",
                metadata: ["partition": "\(topicPartition)", "count": "\(deleted)", "log.start.offset": "\(logStart)"])
        }
        return deleted
    }

    private func removeExpiredDeletionsLocked(now: Int64, _ state: inout WriterState) {
        state.pendingDeletions.removeAll { pending in
            guard pending.dueMs <= now else { return false }
            pending.segment.removeDeletedFiles()
            return true
        }
    }
}
