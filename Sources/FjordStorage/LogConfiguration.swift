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
    /// Whether retention deletes old segments at all (`cleanup.policy` includes `delete`). A compacted topic such
    /// as `__consumer_offsets` is exempt until log compaction exists. Default true.
    public var deleteRetentionEnabled: Bool = true
    /// How long a segment renamed to `.deleted` waits before its files are removed (ms).
    /// Kafka: `file.delete.delay.ms`. Default 60000.
    public var fileDeleteDelayMs: Int64 = 60_000
    /// Force an fsync after this many appended messages. Kafka: `flush.messages`. Default: never.
    public var flushMessages: Int64 = .max
    /// Force an fsync when the oldest unflushed append is this old (ms). Kafka: `flush.ms`. Default: never.
    public var flushMs: Int64 = .max

    public init() {}
}
