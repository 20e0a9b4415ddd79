/// Broker keys that may change at run time (IncrementalAlterConfigs on the broker resource) and are not the default
/// of a topic key: the replication throttles (KIP-73). The topic keys' broker synonyms (`log.retention.ms`, ...) are
/// dynamic too: `ConfigCommands.definition(for:type:)` finds both.
public enum BrokerDynamicConfigs {
    /// Kafka's `QuotaConfig.QUOTA_BYTES_PER_SECOND_DEFAULT`: unlimited.
    public static let unlimited = "\(Int64.max)"

    public static let all: [ConfigDefinition] = [
        .init(
            name: "leader.replication.throttled.rate", kind: .long(0...Int64.max), defaultValue: unlimited,
            documentation:
                "A cap, in bytes per second, on the replication traffic a leader sends for the replicas its topics' leader.replication.throttled.replicas name."
        ),
        .init(
            name: "follower.replication.throttled.rate", kind: .long(0...Int64.max), defaultValue: unlimited,
            documentation:
                "A cap, in bytes per second, on the replication traffic a follower fetches for the replicas its topics' follower.replication.throttled.replicas name."
        ),
    ]

    public static let byName: [String: ConfigDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
