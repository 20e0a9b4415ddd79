/// How one partition's log behaves: Kafka's topic-level keys and defaults (STYLE.md §12).
public struct LogConfiguration: Sendable, Equatable {
    /// Roll the active segment when an append would take it past this size. Kafka: `segment.bytes`. Default 1 GiB.
    public var segmentBytesMax: Int = 1 << 30
    /// Roll the active segment once it is this old (ms). Kafka: `segment.ms`. Default 7 days.
    public var segmentMs: Int64 = 7 * 24 * 3_600_000
    /// Bytes of log between two offset-index entries. Kafka: `index.interval.bytes`. Default 4096.
    public var indexIntervalBytes: Int = 4096
    /// The size an active segment's index files are preallocated to; a full index rolls the segment.
    /// Kafka: `segment.index.bytes`. Default 10 MiB.
    public var segmentIndexBytesMax: Int = 10 * 1024 * 1024
    /// Delete segments whose newest record is older than this (ms); -1 keeps them forever.
    /// Kafka: `retention.ms`. Default 7 days.
    public var retentionMs: Int64 = 7 * 24 * 3_600_000
    /// Delete the oldest segments while the partition is larger than this; -1 is unlimited.
    /// Kafka: `retention.bytes`. Default -1.
    public var retentionBytes: Int64 = -1
    /// Whether retention deletes old segments at all (`cleanup.policy` includes `delete`). As in Kafka, a topic whose
    /// policy is `compact` alone (such as `__consumer_offsets`) is only compacted, never cut by time or size;
    /// `compact,delete` does both. Default true.
    public var deleteRetentionEnabled: Bool = true
    /// Whether the log cleaner compacts this log (`cleanup.policy` includes `compact`). Default false.
    public var isCompacted: Bool = false
    /// Compact once the dirty part is at least this share of the cleanable log.
    /// Kafka: `min.cleanable.dirty.ratio`. Default 0.5.
    public var minCleanableDirtyRatio: Double = 0.5
    /// Records newer than this (ms) are never compacted. Kafka: `min.compaction.lag.ms`. Default 0.
    public var minCompactionLagMs: Int64 = 0
    /// Compact regardless of the dirty ratio once the oldest dirty record is this old (ms).
    /// Kafka: `max.compaction.lag.ms`. Default Long.MAX_VALUE.
    public var maxCompactionLagMs: Int64 = .max
    /// How long a tombstone (a record with a null value) survives compaction once its segment was last written
    /// or cleaned (ms). Kafka: `delete.retention.ms`. Default 86400000 (1 day).
    public var deleteRetentionMs: Int64 = 86_400_000
    /// How long a segment renamed to `.deleted` waits before its files are removed (ms).
    /// Kafka: `file.delete.delay.ms`. Default 60000.
    public var fileDeleteDelayMs: Int64 = 60_000
    /// Force an fsync after this many appended messages. Kafka: `flush.messages`. Default: never.
    public var flushMessages: Int64 = .max
    /// Force an fsync when the oldest unflushed append is this old (ms). Kafka: `flush.ms`. Default: never.
    public var flushMs: Int64 = .max

    public init() {}
}
