import FjordReplication
import FjordSecurity
import KafkaProtocol
import NIOCore

/// The broker's static configuration: Kafka's property names and defaults (STYLE.md §12).
///
/// Built from `server.properties` text and `--override key=value` pairs with `init(properties:)`, which
/// rejects unknown keys and bad values with an error naming the key. Keys Kafka has that Fjord does not act
/// on yet are still checked for a well-formed value, so a Kafka `server.properties` loads unchanged.
public struct BrokerConfiguration: Sendable {
    /// This node's id. Kafka: `node.id`. Default 1.
    public var nodeID: NodeID = 1
    /// Addresses to listen on. Kafka: `listeners`. Default `PLAINTEXT://127.0.0.1:9092`.
    public var listeners: [Listener] = [Listener(host: "127.0.0.1", port: 9092)]
    /// Addresses given to clients in Metadata. Kafka: `advertised.listeners`. Default: `listeners`, with an
    /// empty or wildcard host replaced by 127.0.0.1.
    public var advertisedListenersOverride: [Listener]?
    /// Data directories. Kafka: `log.dirs` (or `log.dir`). Default `./fjord-data`.
    public var logDirs: [String] = ["./fjord-data"]
    /// The largest request frame accepted; a larger length prefix closes the connection before any allocation.
    /// Kafka: `socket.request.max.bytes`. Default 100 MiB.
    public var socketRequestMaxBytes: Int = 100 * 1024 * 1024
    /// Event-loop threads serving connections. Kafka: `num.network.threads`. Default: one per core.
    public var networkThreads: Int = System.coreCount
    /// Threads of the I/O pool that runs every handler that writes to a log or waits on a lock held across such a
    /// write (produce, the coordinators), fsyncs and file work. Kafka: `num.io.threads`. Default 8, as Kafka.
    public var ioThreads: Int = 8
    /// Partitions of an auto-created topic. Kafka: `num.partitions`. Default 1.
    public var defaultPartitionCount: Int32 = 1
    /// Replication factor of an auto-created topic. Kafka: `default.replication.factor`. Default 1.
    public var defaultReplicationFactor: Int16 = 1
    /// Create unknown topics on Metadata and Produce. Kafka: `auto.create.topics.enable`. Default true.
    public var autoCreateTopicsEnable: Bool = true
    /// The minimum in-sync replicas for `acks=all`. Kafka: `min.insync.replicas`. Default 1.
    public var minInsyncReplicas: Int32 = 1
    /// Incremental fetch sessions kept at once (KIP-227). Kafka: `max.incremental.fetch.session.cache.slots`.
    /// Default 1000.
    public var maxIncrementalFetchSessionCacheSlots: Int = 1000
    /// How often the retention pass runs (ms). Kafka: `log.retention.check.interval.ms`. Default 300000.
    public var retentionCheckIntervalMs: Int64 = 300_000
    /// Whether the log cleaner compacts `cleanup.policy=compact` topics. Kafka: `log.cleaner.enable`. Default true.
    public var logCleanerEnable: Bool = true
    /// Time between log-cleaner passes (ms). Kafka: `log.cleaner.backoff.ms`. Default 15000.
    public var logCleanerBackoffMs: Int64 = 15_000
    /// Memory for the keys one cleaner pass indexes; at 24 bytes an entry, as Kafka counts it, this bounds the
    /// keys per pass. Kafka: `log.cleaner.dedupe.buffer.size`. Default 134217728 (128 MiB).
    public var logCleanerDedupeBufferSize: Int64 = 128 * 1024 * 1024
    /// How often logs whose `flush.ms` elapsed are fsynced (ms). Kafka: `log.flush.scheduler.interval.ms`.
    public var flushSchedulerIntervalMs: Int64 = 3000
    /// Partitions of `__consumer_offsets`, created on first use. Kafka: `offsets.topic.num.partitions`. Default 50.
    public var offsetsTopicPartitionCount: Int32 = 50
    /// Replication factor of `__consumer_offsets` (capped at the number of brokers). Kafka:
    /// `offsets.topic.replication.factor`. Default 1 here (Kafka: 3).
    public var offsetsTopicReplicationFactor: Int16 = 1
    /// Segment size of `__consumer_offsets`. Kafka: `offsets.topic.segment.bytes`. Default 100 MiB.
    public var offsetsTopicSegmentBytes: Int32 = 100 * 1024 * 1024
    /// Partitions of `__transaction_state`, created on first use. Kafka: `transaction.state.log.num.partitions`.
    /// Default 50.
    public var transactionStateTopicPartitionCount: Int32 = 50
    /// Replication factor of `__transaction_state` (capped at the number of brokers). Kafka:
    /// `transaction.state.log.replication.factor`. Default 1 here (Kafka: 3).
    public var transactionStateTopicReplicationFactor: Int16 = 1
    /// Segment size of `__transaction_state`. Kafka: `transaction.state.log.segment.bytes`. Default 100 MiB.
    public var transactionStateTopicSegmentBytes: Int32 = 100 * 1024 * 1024
    /// The longest transaction timeout a producer may ask for (ms). Kafka: `transaction.max.timeout.ms`. Default 900000.
    public var transactionMaxTimeoutMs: Int32 = 900_000
    /// A transactional id idle this long is forgotten (ms). Kafka: `transactional.id.expiration.ms`. Default 7 days.
    public var transactionalIDExpirationMs: Int32 = 604_800_000
    /// How often timed-out transactions are looked for (ms). Kafka:
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`. Default 10000.
    public var transactionAbortTimedOutCheckIntervalMs: Int32 = 10_000
    /// Whether a transactional produce must go to a partition already added to the producer's open transaction
    /// (KIP-890 part 1). Kafka: `transaction.partition.verification.enable`. Default true.
    public var transactionPartitionVerificationEnable = true
    /// How long the first rebalance of an empty group waits for more members (ms). Kafka:
    /// `group.initial.rebalance.delay.ms`. Default 3000.
    public var groupInitialRebalanceDelayMs: Int32 = 3000
    /// Kafka: `group.min.session.timeout.ms`. Default 6000.
    public var groupMinSessionTimeoutMs: Int32 = 6000
    /// Kafka: `group.max.session.timeout.ms`. Default 1800000.
    public var groupMaxSessionTimeoutMs: Int32 = 1_800_000
    /// Members per classic group. Kafka: `group.max.size`. Default Int32.max.
    public var groupMaxSize: Int32 = .max
    /// Session timeout of KIP-848 consumer-group members (ms). Kafka: `group.consumer.session.timeout.ms`. Default 45000.
    public var groupConsumerSessionTimeoutMs: Int32 = 45_000
    /// Heartbeat interval given to consumer-group members (ms). Kafka: `group.consumer.heartbeat.interval.ms`. Default 5000.
    public var groupConsumerHeartbeatIntervalMs: Int32 = 5000
    /// Members per consumer group. Kafka: `group.consumer.max.size`. Default Int32.max.
    public var groupConsumerMaxSize: Int32 = .max
    /// Offsets of an empty group expire after this many minutes. Kafka: `offsets.retention.minutes`. Default 10080.
    public var offsetsRetentionMinutes: Int32 = 10080
    /// How often expired offsets are removed (ms). Kafka: `offsets.retention.check.interval.ms`. Default 600000.
    public var offsetsRetentionCheckIntervalMs: Int64 = 600_000
    /// The longest commit metadata string. Kafka: `offset.metadata.max.bytes`. Default 4096.
    public var offsetMetadataMaxBytes: Int32 = 4096
    /// Where `/metrics` (Prometheus text format) and `/health` are served over HTTP, or nil for nowhere.
    /// Fjord: `metrics.listener`, `host:port` (port 0 picks a free port; empty or `none` turns it off).
    /// Default `127.0.0.1:9644`.
    public var metricsListener: Listener? = Listener(name: "METRICS", host: "127.0.0.1", port: 9644)
    /// Also export per-partition series (log offsets and size, lag per partition). Off by default so the number of
    /// series grows with topics and groups, not partitions. Fjord: `metrics.partition.level`. Default false.
    public var metricsPartitionLevel = false
    // MARK: KRaft (parsed in BrokerConfiguration+KRaft, checked in BrokerConfiguration+KRaftValidation)

    /// The roles of this node. Kafka: `process.roles`. Default empty, which in Fjord means today's single combined
    /// node whose metadata log is a quorum of one, started without a format step; once set, the node must be
    /// formatted with `fjord storage format` and the KRaft keys below are checked as Kafka checks them.
    public var processRoles: Set<ProcessRole> = []
    /// Names of the listeners the controllers use; a broker talks to the quorum on the first. Kafka:
    /// `controller.listener.names`. Default none (required once `process.roles` is set).
    public var controllerListenerNames: [String] = []
    /// The static voter set, `{id}@{host}:{port},...`. Kafka: `controller.quorum.voters`. Default empty.
    public var quorumVoters: [QuorumVoter] = []
    /// Controllers to discover a dynamic quorum from (KIP-853), `{host}:{port},...`. Kafka:
    /// `controller.quorum.bootstrap.servers`. Default empty.
    public var quorumBootstrapServers: [HostAndPort] = []
    /// The explicit `listener.security.protocol.map`, or nil for Kafka's default (each protocol name maps to itself,
    /// plus, in KRaft mode, PLAINTEXT for every controller listener name). See `effectiveSecurityProtocolMap`.
    public var listenerSecurityProtocolMapOverride: [String: SecurityProtocol]?
    /// The listener brokers use among themselves. Kafka: `inter.broker.listener.name`. Default: the listener named
    /// after `inter.broker.security.protocol`, PLAINTEXT.
    public var interBrokerListenerName = "PLAINTEXT"
    /// The SASL mechanisms a SASL listener offers unless its own `listener.name.<l>.sasl.enabled.mechanisms` says
    /// otherwise. Kafka: `sasl.enabled.mechanisms`, default GSSAPI (which Fjord does not offer: set it).
    public var saslEnabledMechanisms = ["GSSAPI"]
    /// `listener.name.<l>.sasl.enabled.mechanisms`, by listener name (upper case).
    public var listenerSaslMechanisms: [String: [String]] = [:]
    /// `listener.name.<l>.ssl.*`, by listener name (upper case) and `ssl.*` key.
    public var listenerSslProperties: [String: [String: String]] = [:]
    /// `listener.name.<l>.<mechanism>.sasl.jaas.config`, by listener name and mechanism (upper case).
    public var listenerJaasConfigs: [String: [String: JaasConfiguration]] = [:]
    /// How long a SASL authentication holds before the client must re-authenticate (KIP-368); 0: for ever.
    /// Kafka: `connections.max.reauth.ms`, default 0.
    public var connectionsMaxReauthMs: Int64 = 0
    /// How long the answer to a failed authentication is held back. Kafka:
    /// `connection.failed.authentication.delay.ms`, default 100.
    public var connectionFailedAuthenticationDelayMs: Int64 = 100
    /// The largest request a SASL connection may send before it has authenticated. Kafka:
    /// `sasl.server.max.receive.size`, default 524288.
    public var saslServerMaxReceiveSize = 524_288
    /// Windows a client quota's rate is measured over. Kafka: `quota.window.num`, default 11.
    public var quotaWindowNum = 11
    /// Each window's length (s). Kafka: `quota.window.size.seconds`, default 1.
    public var quotaWindowSizeSeconds = 1
    /// Without a fetch from the leader for this long, a voter starts an election (ms). Kafka:
    /// `controller.quorum.election.timeout.ms`. Default 1000.
    public var quorumElectionTimeoutMs: Int32 = 1000
    /// The longest randomised wait before a new election (ms). Kafka: `controller.quorum.election.backoff.max.ms`.
    /// Default 1000.
    public var quorumElectionBackoffMaxMs: Int32 = 1000
    /// A follower that cannot fetch for this long becomes a candidate; a leader without fetches from a majority for
    /// this long resigns (ms). Kafka: `controller.quorum.fetch.timeout.ms`. Default 2000.
    public var quorumFetchTimeoutMs: Int32 = 2000
    /// A quorum request without an answer after this long is retried (ms). Kafka:
    /// `controller.quorum.request.timeout.ms`. Default 2000.
    public var quorumRequestTimeoutMs: Int32 = 2000
    /// The wait before retrying a failed quorum request (ms). Kafka: `controller.quorum.retry.backoff.ms`. Default 20.
    public var quorumRetryBackoffMs: Int32 = 20
    /// A broker that has not heartbeated for this long is fenced (ms). Kafka: `broker.session.timeout.ms`.
    /// Default 9000.
    public var brokerSessionTimeoutMs: Int32 = 9000
    /// How often a broker heartbeats to the active controller (ms). Kafka: `broker.heartbeat.interval.ms`.
    /// Default 2000.
    public var brokerHeartbeatIntervalMs: Int32 = 2000
    /// Metadata log bytes past the latest snapshot that trigger a new one. Kafka:
    /// `metadata.log.max.record.bytes.between.snapshots`. Default 20971520 (20 MiB).
    public var metadataSnapshotMaxNewRecordBytes: Int64 = 20 * 1024 * 1024
    /// The longest wait before snapshotting committed records not yet in a snapshot (ms; 0 turns the time trigger
    /// off). Kafka: `metadata.log.max.snapshot.interval.ms`. Default 3600000 (one hour).
    public var metadataSnapshotMaxIntervalMs: Int64 = 3_600_000
    /// Which replica consumers fetch from (KIP-392). Kafka: `replica.selector.class`; default nil: the leader
    /// (`org.apache.kafka.common.replica.RackAwareReplicaSelector` sends consumers with a `client.rack` to a replica
    /// in their rack).
    public var replicaSelector: ReadReplicaSelector = .leader
    /// This broker's rack, in its registration (placement spreads replicas over racks; the rack-aware selector
    /// matches consumers to it). Kafka: `broker.rack`. Default nil.
    public var brokerRack: String?
    /// How often each data directory's `replication-offset-checkpoint` is written (ms). Kafka:
    /// `replica.high.watermark.checkpoint.interval.ms`. Default 5000.
    public var replicaHighWatermarkCheckpointIntervalMs: Int64 = 5000
    /// Whether the active controller moves leaderships back to preferred replicas on its own. Kafka:
    /// `auto.leader.rebalance.enable`. Default true.
    public var autoLeaderRebalanceEnable = true
    /// How often the active controller looks for partitions not led by their preferred replica (seconds). Kafka:
    /// `leader.imbalance.check.interval.seconds`. Default 300.
    public var leaderImbalanceCheckIntervalSeconds: Int64 = 300
    /// How often the active controller tries unclean elections for leaderless partitions of topics that allow them
    /// (ms). Kafka: `unclean.leader.election.interval.ms`. Default 300000.
    public var uncleanLeaderElectionIntervalMs: Int64 = 300_000
    /// Whether a replica outside the ISR may lead when no ISR member can (topics may override it). Kafka:
    /// `unclean.leader.election.enable`. Default false.
    public var uncleanLeaderElectionEnable = false
    /// Where the metadata log (`__cluster_metadata-0`) lives. Kafka: `metadata.log.dir`. Default nil: the first of
    /// `log.dirs`. See `metadataLogDir`.
    public var metadataLogDirOverride: String?

    /// Whether requests are authorized against the ACLs in the metadata log. Kafka: `authorizer.class.name`, which
    /// turns Kafka's `StandardAuthorizer` on by its class name (`BrokerAuthorizer.standardAuthorizerClassName`);
    /// default empty: off, every request allowed and the ACL APIs answer SECURITY_DISABLED.
    public var authorizerEnabled = false
    /// Principals allowed everything (`User:admin;User:broker`). Kafka: `super.users`. Default none.
    public var superUsers: Set<String> = []
    /// Whether a resource no ACL applies to is open to everyone. Kafka: `allow.everyone.if.no.acl.found`.
    /// Default false.
    public var allowEveryoneIfNoAclFound = false

    /// Every property as given (after overrides), for DescribeConfigs.
    public private(set) var properties: [String: String] = [:]

    public init() {}

    /// The listeners clients are told to connect to: never a controller listener (Kafka advertises only broker
    /// listeners to clients).
    public var advertisedListeners: [Listener] {
        let controllerNames = Set(controllerListenerNames)
        if let advertisedListenersOverride {
            return advertisedListenersOverride.filter { !controllerNames.contains($0.name) }
        }
        return listeners.filter { !controllerNames.contains($0.name) }.map { listener in
            var advertised = listener
            if advertised.host.isEmpty || advertised.host == "0.0.0.0" || advertised.host == "::" {
                advertised.host = "127.0.0.1"
            }
            return advertised
        }
    }

    /// Applies properties in order (later ones win, as `--override` after `--config`).
    public init(properties entries: [(key: String, value: String)]) throws(ConfigurationError) {
        self.init()
        for (key, value) in entries {
            try apply(key: key.trimmingCharacters(in: " "), value: value.trimmingCharacters(in: " "))
        }
        try validateKRaft()
    }

    private mutating func apply(key: String, value: String) throws(ConfigurationError) {
        if try applyListenerPrefixed(key: key, value: value) { return }
        guard let kind = Self.knownKeys[key] ?? Self.tlsKeys[key] else {
            throw ConfigurationError(key: key, "unknown property; see the README for the keys Fjord accepts")
        }
        try kind.validate(value, key: key)
        properties[key] = value
        switch key {
        case "node.id", "broker.id": nodeID = try Self.integer(value, key: key, in: 0...Int(Int32.max))
        case "listeners":
            listeners = try Listener.parseList(value, key: key)
            guard !listeners.isEmpty else { throw ConfigurationError(key: key, "needs at least one listener") }
        case "advertised.listeners": advertisedListenersOverride = try Listener.parseList(value, key: key)
        case "log.dirs", "log.dir":
            logDirs = value.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
            guard !logDirs.isEmpty else { throw ConfigurationError(key: key, "needs at least one directory") }
        case "socket.request.max.bytes":
            socketRequestMaxBytes = Int(try Self.integer(value, key: key, in: 1...Int(Int32.max)) as Int32)
        case "num.network.threads": networkThreads = Int(try Self.integer(value, key: key, in: 1...1024) as Int32)
        case "num.io.threads": ioThreads = Int(try Self.integer(value, key: key, in: 1...1024) as Int32)
        case "num.partitions": defaultPartitionCount = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "default.replication.factor":
            defaultReplicationFactor = try Self.integer(value, key: key, in: 1...Int(Int16.max))
        case "auto.create.topics.enable": autoCreateTopicsEnable = value.lowercased() == "true"
        case "sasl.enabled.mechanisms": saslEnabledMechanisms = Self.list(value)
        case "connections.max.reauth.ms":
            connectionsMaxReauthMs = try Self.integer(value, key: key, in: 0...Int(Int64.max))
        case "quota.window.num": quotaWindowNum = Int(try Self.integer(value, key: key, in: 2...1000) as Int32)
        case "quota.window.size.seconds":
            quotaWindowSizeSeconds = Int(try Self.integer(value, key: key, in: 1...3600) as Int32)
        case "sasl.server.max.receive.size":
            saslServerMaxReceiveSize = Int(try Self.integer(value, key: key, in: 1...Int(Int32.max)) as Int32)
        case "connection.failed.authentication.delay.ms":
            connectionFailedAuthenticationDelayMs = try Self.integer(value, key: key, in: 0...Int(Int32.max))
        case "max.incremental.fetch.session.cache.slots":
            maxIncrementalFetchSessionCacheSlots = Int(
                try Self.integer(value, key: key, in: 0...Int(Int32.max)) as Int32)
        case "log.retention.check.interval.ms":
            retentionCheckIntervalMs = Int64(try Self.integer(value, key: key, in: 1...Int(Int32.max)) as Int32)
        case "log.cleaner.enable": logCleanerEnable = value.lowercased() == "true"
        case "log.cleaner.backoff.ms":
            logCleanerBackoffMs = Int64(try Self.integer(value, key: key, in: 1...Int(Int32.max)) as Int32)
        case "log.cleaner.dedupe.buffer.size":
            logCleanerDedupeBufferSize = try Self.integer(value, key: key, in: 24...Int(Int64.max))
        case "log.flush.scheduler.interval.ms":
            flushSchedulerIntervalMs = Int64(try Self.integer(value, key: key, in: 1...Int(Int32.max)) as Int32)
        case "offsets.topic.num.partitions":
            offsetsTopicPartitionCount = try Self.integer(value, key: key, in: 1...100_000)
        case "offsets.topic.replication.factor":
            offsetsTopicReplicationFactor = try Self.integer(value, key: key, in: 1...Int(Int16.max))
        case "offsets.topic.segment.bytes":
            offsetsTopicSegmentBytes = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "transaction.state.log.num.partitions":
            transactionStateTopicPartitionCount = try Self.integer(value, key: key, in: 1...100_000)
        case "transaction.state.log.replication.factor":
            transactionStateTopicReplicationFactor = try Self.integer(value, key: key, in: 1...Int(Int16.max))
        case "transaction.state.log.segment.bytes":
            transactionStateTopicSegmentBytes = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "transaction.partition.verification.enable":
            transactionPartitionVerificationEnable = value.lowercased() == "true"
        case "transaction.max.timeout.ms":
            transactionMaxTimeoutMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "transactional.id.expiration.ms":
            transactionalIDExpirationMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "transaction.abort.timed.out.transaction.cleanup.interval.ms":
            transactionAbortTimedOutCheckIntervalMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "group.initial.rebalance.delay.ms":
            groupInitialRebalanceDelayMs = try Self.integer(value, key: key, in: 0...Int(Int32.max))
        case "group.min.session.timeout.ms":
            groupMinSessionTimeoutMs = try Self.integer(value, key: key, in: 0...Int(Int32.max))
        case "group.max.session.timeout.ms":
            groupMaxSessionTimeoutMs = try Self.integer(value, key: key, in: 0...Int(Int32.max))
        case "group.max.size": groupMaxSize = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "group.consumer.session.timeout.ms":
            groupConsumerSessionTimeoutMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "group.consumer.heartbeat.interval.ms":
            groupConsumerHeartbeatIntervalMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "group.consumer.max.size": groupConsumerMaxSize = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "offsets.retention.minutes":
            offsetsRetentionMinutes = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "offsets.retention.check.interval.ms":
            offsetsRetentionCheckIntervalMs = Int64(try Self.integer(value, key: key, in: 1...Int(Int32.max)) as Int32)
        case "offset.metadata.max.bytes":
            offsetMetadataMaxBytes = try Self.integer(value, key: key, in: 0...Int(Int32.max))
        case "metrics.listener": metricsListener = try Listener.parseMetrics(value, key: key)
        case "metrics.partition.level": metricsPartitionLevel = value.lowercased() == "true"
        case "replica.selector.class":
            guard let selector = ReadReplicaSelector(className: value) else {
                throw ConfigurationError(
                    key: key,
                    "'\(value)' is not a replica selector this broker has (\(ReadReplicaSelector.leaderClassName) or \(ReadReplicaSelector.rackAwareClassName))"
                )
            }
            replicaSelector = selector
        case "broker.rack": brokerRack = value.isEmpty ? nil : value
        case "replica.high.watermark.checkpoint.interval.ms":
            replicaHighWatermarkCheckpointIntervalMs = try Self.integer(value, key: key, in: 1...Int(Int64.max))
        case "min.insync.replicas": minInsyncReplicas = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "authorizer.class.name":
            guard value.isEmpty || value == BrokerAuthorizer.standardAuthorizerClassName else {
                throw ConfigurationError(
                    key: key,
                    "'\(value)' is not an authorizer this broker has (\(BrokerAuthorizer.standardAuthorizerClassName), or empty for none)"
                )
            }
            authorizerEnabled = !value.isEmpty
        case "super.users": superUsers = StandardAuthorizer.superUsers(fromConfig: value)
        case "allow.everyone.if.no.acl.found": allowEveryoneIfNoAclFound = value.lowercased() == "true"
        default: try applyKRaft(key: key, value: value)
        }
    }

    static func integer<T: FixedWidthInteger>(_ value: String, key: String, in range: ClosedRange<Int>)
        throws(ConfigurationError) -> T
    {
        guard let number = Int(value), range.contains(number) else {
            throw ConfigurationError(
                key: key, "'\(value)' is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return T(number)
    }
}
