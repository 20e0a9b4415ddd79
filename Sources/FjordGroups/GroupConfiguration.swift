/// The coordinator's limits and delays (STYLE.md §12). The broker fills it from its Kafka properties.
public struct GroupConfiguration: Sendable {
    /// Kafka: `group.min.session.timeout.ms`. Default 6000.
    public var minSessionTimeoutMs: Int32 = 6000
    /// Kafka: `group.max.session.timeout.ms`. Default 1800000.
    public var maxSessionTimeoutMs: Int32 = 1_800_000
    /// How long the first rebalance of an empty group waits for more members. Kafka:
    /// `group.initial.rebalance.delay.ms`. Default 3000.
    public var initialRebalanceDelayMs: Int32 = 3000
    /// Members per group. Kafka: `group.max.size`. Default Int32.max.
    public var maxSize: Int = Int(Int32.max)
    /// Offsets of an empty group expire this long after their commit. Kafka: `offsets.retention.minutes`
    /// (default 10080, 7 days), in ms here.
    public var offsetsRetentionMs: Int64 = 10080 * 60_000
    /// The largest commit metadata string. Kafka: `offset.metadata.max.bytes`. Default 4096.
    public var offsetMetadataMaxBytes: Int = 4096
    /// The longest group id accepted (bounds memory; Kafka has none but its records must fit a batch).
    public var groupIDMaxLength: Int = 32_767
    /// The most bytes one member may hold: the names and metadata of the protocols its JoinGroup offers (however
    /// many), and separately the assignment the leader's SyncGroup gives it. Beyond it JoinGroup/SyncGroup answer
    /// INVALID_REQUEST. Kafka has no key for this; its bound is the group's record fitting `message.max.bytes`
    /// (default 1 MiB, else UNKNOWN_SERVER_ERROR when the record is written). Default 1 MiB.
    public var memberMetadataMaxBytes: Int = 1 << 20
    /// The KIP-848 consumer protocol's session, heartbeat and size limits.
    public var consumer = ConsumerGroupManager.Configuration()

    public init() {}
}
