import KafkaProtocol

/// `replication-offset-checkpoint`: each data directory's partitions with their high watermark, in Kafka's offset
/// checkpoint format, so a restarted replica starts from the high watermark it had instead of its log start (a
/// restarted leader would otherwise hide, and report as not yet committed, records its consumers already read,
/// until its followers fetch again). The high watermark belongs to the replication layer, which registers where to
/// read it (`setHighWatermarkSource`); the file is written by its checkpoint timer and at shutdown.
extension LogManager {
    public static let replicationCheckpoint = "replication-offset-checkpoint"

    /// Where `checkpointHighWatermarks` reads the high watermarks (every partition with a replica).
    public func setHighWatermarkSource(_ source: @escaping @Sendable () -> [TopicPartition: Int64]) {
        state.withLockedValue { $0.highWatermarkSource = source }
    }

    /// The high watermarks of every data directory's checkpoint. A directory whose file is unreadable or malformed
    /// contributes nothing (its replicas start from their log start, as without a checkpoint), with a warning.
    public func readHighWatermarks() -> [TopicPartition: Int64] {
        var marks = [TopicPartition: Int64]()
        for dataDirectory in dataDirectories {
            let path = dataDirectory + "/" + Self.replicationCheckpoint
            do {
                marks.merge(try CheckpointFile.readOffsets(path)) { first, _ in first }
            } catch {
                logger.warning("high watermark checkpoint ignored", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        return marks
    }

    /// Writes each data directory's `replication-offset-checkpoint` with the high watermarks of its partitions (no
    /// file while no source is set). Blocking: a pool thread or the shutdown path.
    public func checkpointHighWatermarks() throws(LogError) {
        let (source, directoryOf) = state.withLockedValue { ($0.highWatermarkSource, $0.directoryOf) }
        guard let source else { return }
        let marks = source()
        for dataDirectory in dataDirectories {
            let own = marks.filter { directoryOf[$0.key] == dataDirectory }
            try CheckpointFile.writeOffsets(own, to: dataDirectory + "/" + Self.replicationCheckpoint)
        }
    }
}
