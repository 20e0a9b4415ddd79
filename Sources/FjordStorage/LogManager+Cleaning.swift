import KafkaProtocol

extension LogManager {
    /// Per data directory: `<topic> <partition> <offset>` — where each compacted log's dirty part starts (the end
    /// of what the last pass cleaned). Kafka's `cleaner-offset-checkpoint`, written atomically (`CheckpointFile`).
    public static let cleanerCheckpoint = "cleaner-offset-checkpoint"

    /// One log-cleaner pass: every compacted log (`LogConfiguration.isCompacted`) whose dirty ratio reaches its
    /// `min.cleanable.dirty.ratio`, or whose oldest dirty record passed `max.compaction.lag.ms`, is cleaned up to
    /// `upperBound(partition)` (the last stable offset; the log end when nil), and the checkpoint moves to where
    /// the pass ended. A failing partition is logged and skipped. Blocking. Returns what each cleaned log did.
    @discardableResult
    public func cleanCompactedLogs(
        with cleaner: LogCleaner, upperBound: (TopicPartition) -> Int64? = { _ in nil }
    ) throws(LogError) -> [TopicPartition: LogCleaner.CleanResult] {
        var results = [TopicPartition: LogCleaner.CleanResult]()
        for (dataDirectory, logs) in logsByDataDirectory() {
            let path = dataDirectory + "/" + Self.cleanerCheckpoint
            var offsets: [TopicPartition: Int64]
            do {
                offsets = try CheckpointFile.readOffsets(path)
            } catch {
                // A damaged checkpoint only costs work: every log is cleaned from its start again.
                logger.warning("unreadable cleaner checkpoint", metadata: ["path": "\(path)", "error": "\(error)"])
                offsets = [:]
            }
            var changed = false
            for (topicPartition, log) in logs where log.configuration.isCompacted {
                do {
                    let firstDirty = LogCleaner.firstDirtyOffset(checkpoint: offsets[topicPartition], log: log)
                    let bound = upperBound(topicPartition) ?? log.logEndOffset
                    let range = try cleaner.cleanability(of: log, firstDirtyOffset: firstDirty, upperBound: bound)
                    guard range.isDue(minimumRatio: log.configuration.minCleanableDirtyRatio) else { continue }
                    let result = try cleaner.clean(log, firstDirtyOffset: firstDirty, upperBound: bound)
                    offsets[topicPartition] = result.endOffset
                    changed = true
                    results[topicPartition] = result
                    logger.info(
                        "cleaned log",
                        metadata: [
                            "partition": "\(topicPartition)", "segments": "\(result.segmentsRewritten)",
                            "records.removed": "\(result.recordsRemoved)", "bytes.before": "\(result.bytesBefore)",
                            "bytes.after": "\(result.bytesAfter)", "dirty.end": "\(result.endOffset)",
                        ])
                } catch {
                    logger.error(
                        "log cleaning failed", metadata: ["partition": "\(topicPartition)", "error": "\(error)"])
                }
            }
            let stale = offsets.keys.filter { logs[$0] == nil }
            if changed || !stale.isEmpty {
                for key in stale { offsets.removeValue(forKey: key) }
                try CheckpointFile.writeOffsets(offsets, to: path)
            }
        }
        return results
    }

    /// The cleaner checkpoint of every data directory merged (for tests and tools).
    public func cleanerCheckpoints() throws(LogError) -> [TopicPartition: Int64] {
        var result = [TopicPartition: Int64]()
        for dataDirectory in dataDirectories {
            result.merge(try CheckpointFile.readOffsets(dataDirectory + "/" + Self.cleanerCheckpoint)) { $1 }
        }
        return result
    }
}
