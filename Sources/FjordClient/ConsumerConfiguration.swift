import Logging

/// How a `Consumer` fetches, where it starts, and how it commits.
public struct ConsumerConfiguration: Sendable {
    /// Where to start a partition that has no committed offset (or whose offset is out of range).
    public enum OffsetReset: Sendable, Hashable {
        /// The first offset in the log.
        case earliest
        /// The end of the log: only records produced from now on.
        case latest
        /// Fail with an error instead.
        case none
    }

    /// When the consumer commits offsets to the group coordinator.
    public enum CommitMode: Sendable, Hashable {
        /// Commit the positions of delivered records every interval (and on revocation and close): at-most-once
        /// when processing fails after the commit. Kafka: `enable.auto.commit=true`, `auto.commit.interval.ms`.
        case auto(interval: Duration)
        /// Only `commit()` / `commit(offsets:)` commit, after processing: at-least-once.
        case manual
        /// Never commit: the application stores offsets itself and `seek`s (exactly-once with an external store).
        case none
    }

    /// Which records a fetch may return.
    public enum IsolationLevel: Int8, Sendable {
        /// Everything up to the high watermark, including aborted transactional records.
        case readUncommitted = 0
        /// Only committed transactional records, up to the last stable offset.
        case readCommitted = 1
    }

    /// How `subscribe` takes part in the consumer group.
    public enum GroupProtocol: String, Sendable, Hashable {
        /// JoinGroup/SyncGroup rounds; the group leader runs one of `assignors` on the client.
        case classic
        /// KIP-848: ConsumerGroupHeartbeat only; the coordinator assigns (`remoteAssignor`) and the member
        /// reconciles incrementally. Needs a broker that serves ConsumerGroupHeartbeat.
        case consumer
    }

    /// Connections and metadata.
    public var client: ClientConfiguration
    /// The consumer group for `subscribe`; nil for a consumer that only uses `assign`. Kafka: `group.id`.
    public var groupID: String?
    /// Static membership id. Kafka: `group.instance.id`. Default nil.
    public var groupInstanceID: String?
    /// Kafka: `auto.offset.reset`. Default `.latest`.
    public var autoOffsetReset: OffsetReset = .latest
    /// Kafka: `enable.auto.commit` + `auto.commit.interval.ms`. Default auto every 5 s (ignored without a group).
    public var commitMode: CommitMode = .auto(interval: .seconds(5))
    /// Kafka: `isolation.level`. Default read_uncommitted.
    public var isolationLevel: IsolationLevel = .readUncommitted
    /// Kafka: `fetch.min.bytes`. Default 1.
    public var fetchMinBytes: Int32 = 1
    /// Kafka: `fetch.max.bytes`. Default 50 MiB.
    public var fetchMaxBytes: Int32 = 50 << 20
    /// Kafka: `max.partition.fetch.bytes`. Default 1 MiB.
    public var maxPartitionFetchBytes: Int32 = 1 << 20
    /// How long the broker may hold a fetch waiting for `fetchMinBytes`. Kafka: `fetch.max.wait.ms`. Default 500 ms.
    public var fetchMaxWait: Duration = .milliseconds(500)
    /// Records fetched and not yet delivered to `records`; the fetch loop waits while this many are buffered.
    /// Kafka: none (librdkafka: `queued.max.messages.kbytes`). Default 2000.
    public var maxBufferedRecords: Int = 2000
    /// Kafka: `session.timeout.ms`. Default 45 s. Classic only: with `.consumer` the coordinator sets the session
    /// timeout.
    public var sessionTimeout: Duration = .seconds(45)
    /// Kafka: `heartbeat.interval.ms`. Default 3 s. With `.consumer` the coordinator's interval is used instead
    /// once the member joined.
    public var heartbeatInterval: Duration = .seconds(3)
    /// How long the coordinator waits for members to rejoin during a rebalance. Kafka: `max.poll.interval.ms`.
    /// Default 5 min.
    public var rebalanceTimeout: Duration = .seconds(300)
    /// Assignors offered to a classic group, in preference order (the consumer protocol uses `remoteAssignor`).
    /// Kafka: `partition.assignment.strategy`.
    /// Default [range, cooperative-sticky].
    public var assignors: [any PartitionAssignor] = [RangeAssignor(), CooperativeStickyAssignor()]
    /// The group protocol `subscribe` uses. Kafka: `group.protocol`. Default `.classic`.
    public var groupProtocol: GroupProtocol = .classic
    /// The server-side assignor a `.consumer` member asks for (Fjord: `uniform`, `range`); nil lets the coordinator
    /// choose. Ignored by `.classic`, which uses `assignors`. Kafka: `group.remote.assignor`. Default nil.
    public var remoteAssignor: String?
    /// Whether to verify each fetched batch's CRC-32C. Kafka: `check.crcs`. Default true.
    public var checkCRCs: Bool = true

    public init(client: ClientConfiguration, groupID: String? = nil) {
        self.client = client
        self.groupID = groupID
    }
}
