import FjordController
import FjordStorage
import KafkaProtocol
import KafkaRecords

/// A topic's configuration as the data path uses it: each key from the topic's override, else the broker's
/// property of the synonym key (static `server.properties` or a dynamic broker config), else Kafka's default.
struct EffectiveTopicConfig: Sendable, Equatable {
    var values: [String: String]

    /// Kafka's `ConfigSource` codes, as DescribeConfigs reports them.
    enum Source {
        static let topic: Int8 = 1
        /// This broker's own dynamic config (DYNAMIC_BROKER_CONFIG).
        static let dynamicBroker: Int8 = 2
        /// The cluster-wide dynamic config (DYNAMIC_DEFAULT_BROKER_CONFIG).
        static let dynamicDefaultBroker: Int8 = 3
        static let staticBroker: Int8 = 4
        static let defaultValue: Int8 = 5
    }

    /// On broker `nodeID` (its own dynamic broker configs count; nil: only the cluster-wide ones).
    init(topic: MetadataImage.Topic?, image: MetadataImage, brokerProperties: [String: String], nodeID: NodeID? = nil) {
        var values = [String: String]()
        for definition in TopicConfigs.all {
            values[definition.name] =
                Self.resolve(
                    definition, topic: topic, image: image, brokerProperties: brokerProperties, nodeID: nodeID
                ).value
        }
        self.values = values
    }

    /// The value of `definition` and where it came from: the topic's own, this broker's dynamic config, the
    /// cluster-wide dynamic config, the static broker property, Kafka's default.
    static func resolve(
        _ definition: ConfigDefinition, topic: MetadataImage.Topic?, image: MetadataImage,
        brokerProperties: [String: String], nodeID: NodeID? = nil
    ) -> (value: String, source: Int8, synonyms: [(name: String, value: String, source: Int8)]) {
        var synonyms = [(name: String, value: String, source: Int8)]()
        if let value = topic?.configs[definition.name] { synonyms.append((definition.name, value, Source.topic)) }
        if let synonym = definition.brokerSynonym {
            if let nodeID, let value = image.nodeConfigs[nodeID]?[synonym] {
                synonyms.append((synonym, value, Source.dynamicBroker))
            }
            if let value = image.brokerConfigs[synonym] {
                synonyms.append((synonym, value, Source.dynamicDefaultBroker))
            }
            if let value = Self.staticBrokerValue(synonym, brokerProperties: brokerProperties) {
                synonyms.append((synonym, value, Source.staticBroker))
            }
        }
        // Named after the topic key: the broker key would collide with the static synonym of the same name in
        // clients that index synonyms by name (confluent-kafka's Python client does).
        synonyms.append((definition.name, definition.defaultValue, Source.defaultValue))
        let chosen = synonyms[0]
        return (chosen.value, chosen.source, synonyms)
    }

    /// A broker property, including Kafka's coarser spellings (`log.retention.hours`, `log.roll.hours`).
    static func staticBrokerValue(_ key: String, brokerProperties: [String: String]) -> String? {
        if let value = brokerProperties[key] { return value }
        switch key {
        case "log.retention.ms":
            if let minutes = brokerProperties["log.retention.minutes"].flatMap(Int64.init) {
                return String(minutes * 60_000)
            }
            if let hours = brokerProperties["log.retention.hours"].flatMap(Int64.init) {
                return String(hours * 3_600_000)
            }
        case "log.roll.ms":
            if let hours = brokerProperties["log.roll.hours"].flatMap(Int64.init) { return String(hours * 3_600_000) }
        default: break
        }
        return nil
    }

    private func long(_ key: String) -> Int64 { Int64(values[key] ?? "") ?? 0 }

    var maxMessageBytes: Int { Int(long("max.message.bytes")) }
    var minInsyncReplicas: Int { Int(long("min.insync.replicas")) }
    var timestampType: TimestampType {
        values["message.timestamp.type"] == "LogAppendTime" ? .logAppendTime : .createTime
    }
    var timestampBeforeMaxMs: Int64 { long("message.timestamp.before.max.ms") }
    var timestampAfterMaxMs: Int64 { long("message.timestamp.after.max.ms") }
    var isCompacted: Bool {
        (values["cleanup.policy"] ?? "").split(separator: ",").contains { $0.trimmingCharacters(in: " ") == "compact" }
    }
    var deletesOldSegments: Bool {
        (values["cleanup.policy"] ?? "delete").split(separator: ",").contains {
            $0.trimmingCharacters(in: " ") == "delete"
        }
    }

    /// The codec the topic stores, or nil to keep the producer's (`compression.type=producer`).
    var compression: CompressionCodec? {
        switch values["compression.type"] {
        case "uncompressed": return CompressionCodec.none
        case "gzip": return .gzip
        case "snappy": return .snappy
        case "lz4": return .lz4
        case "zstd": return .zstd
        default: return nil
        }
    }

    /// The storage settings of the partitions.
    var logConfiguration: LogConfiguration {
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = Int(long("segment.bytes"))
        configuration.segmentMs = long("segment.ms")
        configuration.indexIntervalBytes = Int(long("index.interval.bytes"))
        configuration.segmentIndexBytesMax = Int(long("segment.index.bytes"))
        configuration.retentionMs = long("retention.ms")
        configuration.retentionBytes = long("retention.bytes")
        configuration.deleteRetentionEnabled = deletesOldSegments
        configuration.isCompacted = isCompacted
        configuration.minCleanableDirtyRatio = Double(values["min.cleanable.dirty.ratio"] ?? "") ?? 0.5
        configuration.minCompactionLagMs = long("min.compaction.lag.ms")
        configuration.maxCompactionLagMs = Int64(values["max.compaction.lag.ms"] ?? "") ?? .max
        configuration.deleteRetentionMs = long("delete.retention.ms")
        configuration.fileDeleteDelayMs = long("file.delete.delay.ms")
        configuration.flushMessages = long("flush.messages")
        configuration.flushMs = long("flush.ms")
        return configuration
    }
}
