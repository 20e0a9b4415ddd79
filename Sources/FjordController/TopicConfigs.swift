/// Every topic-level config Fjord accepts, with Kafka 4's defaults and broker synonyms.
public enum TopicConfigs {
    private static let longMax = Int64.max
    private static let intMax = Int64(Int32.max)

    public static let all: [ConfigDefinition] = [
        .init(
            name: "cleanup.policy", kind: .list(["delete", "compact"]), defaultValue: "delete",
            brokerSynonym: "log.cleanup.policy",
            documentation: "How old log segments are removed: delete them after retention, or compact the log by key."),
        .init(
            name: "compression.type", kind: .choice(["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
            defaultValue: "producer",
            brokerSynonym: "compression.type",
            documentation: "The final compression of the topic's data; 'producer' keeps what the producer sent."),
        .init(
            name: "delete.retention.ms", kind: .long(0...longMax), defaultValue: "86400000",
            brokerSynonym: "log.cleaner.delete.retention.ms",
            documentation: "How long delete tombstones are kept on compacted topics."),
        .init(
            name: "file.delete.delay.ms", kind: .long(0...longMax), defaultValue: "60000",
            brokerSynonym: "log.segment.delete.delay.ms",
            documentation: "How long to wait before removing a deleted segment's files."),
        .init(
            name: "flush.messages", kind: .long(1...longMax), defaultValue: String(longMax),
            brokerSynonym: "log.flush.interval.messages",
            documentation: "Force an fsync of the log after this many messages."),
        .init(
            name: "flush.ms", kind: .long(0...longMax), defaultValue: String(longMax),
            brokerSynonym: "log.flush.interval.ms",
            documentation: "Force an fsync of the log when data has waited this long."),
        .init(
            name: "index.interval.bytes", kind: .int(0...intMax), defaultValue: "4096",
            brokerSynonym: "log.index.interval.bytes",
            documentation: "How often, in bytes of log, an offset-index entry is added."),
        .init(
            name: "max.compaction.lag.ms", kind: .long(1...longMax), defaultValue: String(longMax),
            brokerSynonym: "log.cleaner.max.compaction.lag.ms",
            documentation: "The longest a message stays ineligible for compaction."),
        .init(
            name: "max.message.bytes", kind: .int(0...intMax), defaultValue: "1048588",
            brokerSynonym: "message.max.bytes",
            documentation:
                "The largest record batch size allowed by Kafka (after compression if compression is enabled)."),
        .init(
            name: "message.downconversion.enable", kind: .boolean, defaultValue: "true",
            brokerSynonym: "log.message.downconversion.enable",
            documentation: "Deprecated (removed in Kafka 4): whether old fetch versions may down-convert records.",
            deprecation: "no fetch version that needs down-conversion is served"),
        .init(
            name: "message.format.version", kind: .kafkaVersion, defaultValue: "3.0-IV1",
            brokerSynonym: "log.message.format.version",
            documentation: "Deprecated (removed in Kafka 4): the record format version; every batch is written as v2.",
            deprecation: "every batch is written in record format v2, as Kafka 3.0 and later do"),
        .init(
            name: "message.timestamp.after.max.ms", kind: .long(0...longMax), defaultValue: "3600000",
            brokerSynonym: "log.message.timestamp.after.max.ms",
            documentation: "How far in the future a CreateTime timestamp may be, relative to the broker's clock."),
        .init(
            name: "message.timestamp.before.max.ms", kind: .long(0...longMax), defaultValue: String(longMax),
            brokerSynonym: "log.message.timestamp.before.max.ms",
            documentation: "How far in the past a CreateTime timestamp may be, relative to the broker's clock."),
        .init(
            name: "message.timestamp.type", kind: .choice(["CreateTime", "LogAppendTime"]), defaultValue: "CreateTime",
            brokerSynonym: "log.message.timestamp.type",
            documentation: "Whether record timestamps are the producer's (CreateTime) or the broker's append time."),
        .init(
            name: "min.cleanable.dirty.ratio", kind: .double(0...1), defaultValue: "0.5",
            brokerSynonym: "log.cleaner.min.cleanable.ratio",
            documentation: "The dirty ratio at which the log cleaner compacts the log."),
        .init(
            name: "min.compaction.lag.ms", kind: .long(0...longMax), defaultValue: "0",
            brokerSynonym: "log.cleaner.min.compaction.lag.ms",
            documentation: "The shortest time a message stays uncompacted."),
        .init(
            name: "leader.replication.throttled.replicas", kind: .throttledReplicas, defaultValue: "",
            documentation:
                "Replicas whose replication is throttled on the leader side: [partitionId]:[brokerId],... or '*'."),
        .init(
            name: "follower.replication.throttled.replicas", kind: .throttledReplicas, defaultValue: "",
            documentation:
                "Replicas whose replication is throttled on the follower side: [partitionId]:[brokerId],... or '*'."),
        .init(
            name: "min.insync.replicas", kind: .int(1...intMax), defaultValue: "1",
            brokerSynonym: "min.insync.replicas",
            documentation: "The fewest in-sync replicas that must acknowledge an acks=all write for it to succeed."),
        .init(
            name: "preallocate", kind: .boolean, defaultValue: "false", brokerSynonym: "log.preallocate",
            documentation: "Preallocate the file on disk when creating a new log segment."),
        .init(
            name: "retention.bytes", kind: .long(-1...longMax), defaultValue: "-1",
            brokerSynonym: "log.retention.bytes",
            documentation: "The largest a partition may grow before old segments are deleted; -1 for no limit."),
        .init(
            name: "retention.ms", kind: .long(-1...longMax), defaultValue: "604800000",
            brokerSynonym: "log.retention.ms",
            documentation: "How long a segment is kept after its newest record; -1 for no time limit."),
        .init(
            name: "segment.bytes", kind: .int(14...intMax), defaultValue: "1073741824",
            brokerSynonym: "log.segment.bytes",
            documentation: "The segment file size of the log."),
        .init(
            name: "segment.index.bytes", kind: .int(4...intMax), defaultValue: "10485760",
            brokerSynonym: "log.index.size.max.bytes",
            documentation: "The size of the index that maps offsets to file positions."),
        .init(
            name: "segment.jitter.ms", kind: .long(0...longMax), defaultValue: "0", brokerSynonym: "log.roll.jitter.ms",
            documentation: "The largest random jitter subtracted from segment.ms."),
        .init(
            name: "segment.ms", kind: .long(1...longMax), defaultValue: "604800000", brokerSynonym: "log.roll.ms",
            documentation: "How long before the log rolls even if the segment is not full."),
        .init(
            name: "unclean.leader.election.enable", kind: .boolean, defaultValue: "false",
            brokerSynonym: "unclean.leader.election.enable",
            documentation:
                "Whether replicas not in the ISR may be elected leader as a last resort, at the risk of data loss."),
    ]

    public static let byName: [String: ConfigDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The deprecated no-op keys among `names` (topic keys or their broker synonyms), each with why it is ignored.
    public static func deprecatedNoOps(among names: some Sequence<String>) -> [(name: String, reason: String)] {
        names.compactMap { name in
            guard let definition = byName[name] ?? all.first(where: { $0.brokerSynonym == name }),
                let reason = definition.deprecation
            else { return nil }
            return (name, reason)
        }
    }
}
