import FjordController
import FjordSecurity
import FjordStorage
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix

/// What the API handlers share: configuration, the metadata service, the replicas, and a thread pool for the
/// blocking work that must never run on an event loop (fsync, metadata commits, folder deletion).
final class BrokerServices: Sendable {
    let configuration: BrokerConfiguration
    let metadata: MetadataService
    let replicas: ReplicaManager
    let fetchSessions: FetchSessionCache
    /// Consumer groups and committed offsets (`__consumer_offsets`).
    let groups: GroupCoordinator
    /// Producer ids, from blocks reserved in the metadata log.
    let producerIDs: ProducerIDAllocator
    /// Transactions (`__transaction_state`) and their markers.
    let transactions: TransactionCoordinator
    let threadPool: NIOThreadPool
    let clock: any StorageClock
    /// Counters of the data path and the scrape-time gauges of `/metrics`.
    let metrics: BrokerMetrics
    /// The replication quotas (KIP-73), leader and follower side.
    let replicationThrottles: ReplicationThrottles
    /// The ACL authorizer, nil when `authorizer.class.name` is not set (every request allowed).
    let authorizer: BrokerAuthorizer?
    /// Client byte-rate quotas: produce and fetch throttling.
    let quotas: ClientQuotaManager
    let logger: Logger

    init(
        configuration: BrokerConfiguration, metadata: MetadataService, replicas: ReplicaManager,
        threadPool: NIOThreadPool,
        clock: any StorageClock, metrics: BrokerMetrics, logger: Logger
    ) {
        self.configuration = configuration
        self.metadata = metadata
        self.replicas = replicas
        self.fetchSessions = FetchSessionCache(capacity: configuration.maxIncrementalFetchSessionCacheSlots)
        let groups = GroupCoordinator(
            configuration: configuration, metadata: metadata, replicas: replicas, clock: clock, logger: logger)
        self.groups = groups
        let producerIDs = ProducerIDAllocator(metadata: metadata, nodeID: configuration.nodeID)
        self.producerIDs = producerIDs
        self.transactions = TransactionCoordinator(
            configuration: configuration, metadata: metadata, replicas: replicas, groups: groups,
            allocator: producerIDs,
            clock: clock, logger: logger
        ) { outcome, replica in Self.finishAppend(outcome, of: replica, threadPool: threadPool, logger: logger) }
        self.threadPool = threadPool
        self.clock = clock
        self.metrics = metrics
        self.replicationThrottles = ReplicationThrottles(
            localID: configuration.nodeID, publisher: metadata.publisher, properties: configuration.properties)
        self.authorizer =
            configuration.authorizerEnabled
            ? BrokerAuthorizer(configuration: configuration, publisher: metadata.publisher, logger: logger) : nil
        self.quotas = ClientQuotaManager(
            publisher: metadata.publisher, windows: configuration.quotaWindowNum,
            windowMs: Int64(configuration.quotaWindowSizeSeconds) * 1000, metrics: metrics)
        self.logger = logger
    }

    /// Whether the request may do `operation` on the resource: always without an authorizer.
    func authorize(
        _ context: RequestContext, _ operation: AclOperation, _ resourceType: AclResourceType, _ name: String
    ) -> Bool {
        authorizer?.authorize(context, operation, resourceType, name) ?? true
    }

    /// Kafka's first check of a group request: READ on the group (GROUP_AUTHORIZATION_FAILED), then that this broker
    /// coordinates it.
    func checkGroup(_ context: RequestContext, _ groupID: String, _ operation: AclOperation = .read) -> ErrorCode {
        guard authorize(context, operation, .group, groupID) else { return .groupAuthorizationFailed }
        return groups.checkCoordinator(groupID)
    }

    /// Kafka's check of a config resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs): `operation`
    /// on the topic (TOPIC_AUTHORIZATION_FAILED), or on the cluster for a broker or broker-logger resource
    /// (CLUSTER_AUTHORIZATION_FAILED); nil when allowed.
    func configRefusal(_ context: RequestContext, _ operation: AclOperation, resourceType: Int8, name: String)
        -> ErrorCode?
    {
        guard authorizer != nil else { return nil }
        switch resourceType {
        case 2: return authorize(context, operation, .topic, name) ? nil : .topicAuthorizationFailed
        case 4, 8:
            return authorize(context, operation, .cluster, AclResourceType.clusterName)
                ? nil : .clusterAuthorizationFailed
        default: return nil
        }
    }

    /// The operations the request's principal may do on the resource, as an authorized-operations field (every
    /// operation of the type without an authorizer, as Kafka reports).
    func authorizedOperations(_ context: RequestContext, _ resourceType: AclResourceType, _ name: String) -> Int32 {
        BrokerAuthorizer.authorizedOperations(authorizer, context, resourceType, name)
    }

    var image: MetadataImage { metadata.publisher.image }

    /// One log line per request that sets configs Kafka 3.x accepted as deprecated no-ops
    /// (`message.format.version`, ...): they are accepted, stored and described, and change nothing.
    func noteDeprecatedConfigs(_ names: [String], api: String, resource: String) {
        let deprecated = TopicConfigs.deprecatedNoOps(among: names)
        guard !deprecated.isEmpty else { return }
        let detail = deprecated.map { "\($0.name) (\($0.reason))" }.joined(separator: "; ")
        logger.warning("\(api) for \(resource): deprecated configs accepted and ignored: \(detail)")
    }

    /// Runs blocking work on the thread pool and completes on `eventLoop`.
    func blocking<T: Sendable>(on eventLoop: any EventLoop, _ body: @escaping @Sendable () throws -> T)
        -> EventLoopFuture<T>
    {
        threadPool.runIfActive(eventLoop: eventLoop, body)
    }

    /// What an append may still owe once it is done: the fsync its flush policy asked for and the producer
    /// snapshot of a roll, both in the background.
    static func finishAppend(
        _ outcome: PartitionAppendOutcome, of replica: PartitionReplica, threadPool: NIOThreadPool, logger: Logger
    ) {
        if outcome.flushRequested { flushInBackground(replica.log, threadPool: threadPool, logger: logger) }
        if let snapshot = outcome.producerSnapshot {
            writeProducerSnapshotInBackground(
                snapshot.state, offset: snapshot.offset, directory: replica.log.directory, threadPool: threadPool,
                logger: logger)
        }
    }

    private static func flushInBackground(_ log: PartitionLog, threadPool: NIOThreadPool, logger: Logger) {
        threadPool.submit { state in
            guard case .active = state else { return }
            do { try log.flush() } catch {
                logger.error("flush failed", metadata: ["partition": "\(log.topicPartition)", "error": "\(error)"])
            }
        }
    }

    private static func writeProducerSnapshotInBackground(
        _ state: ProducerStateManager, offset: Int64, directory: String, threadPool: NIOThreadPool, logger: Logger
    ) {
        threadPool.submit { threadState in
            guard case .active = threadState else { return }
            do { try ProducerStateSnapshot.write(state, offset: offset, directory: directory) } catch {
                logger.error("producer snapshot failed", metadata: ["directory": "\(directory)", "error": "\(error)"])
            }
        }
    }

    /// Saves every partition's producer state at its log end (clean shutdown). Blocking.
    func writeProducerSnapshots() {
        for replica in replicas.allReplicas.values {
            let (state, end) = replica.producerStateSnapshot()
            guard !state.producers.isEmpty else { continue }
            do { try ProducerStateSnapshot.write(state, offset: end, directory: replica.log.directory) } catch {
                logger.error(
                    "producer snapshot failed",
                    metadata: ["partition": "\(replica.topicPartition)", "error": "\(error)"])
            }
        }
    }

    /// Creates topics that clients asked for by name (Metadata and Produce with `auto.create.topics.enable`),
    /// with the broker's default partition count and replication factor; returns the names created. On a quorum
    /// node that is not the active controller this is a CreateTopics sent to the active controller (as Kafka's
    /// `AutoTopicCreationManager` does; only the controller commits), and a name counts as created once this
    /// broker's image shows it. Blocking.
    func autoCreate(_ names: [String]) throws -> [String] {
        let defaults = TopicCommands.Defaults(
            partitionCount: configuration.defaultPartitionCount,
            replicationFactor: configuration.defaultReplicationFactor
        )
        let request = CreateTopicsRequest(
            topics: names.map {
                .init(
                    name: $0, numPartitions: defaults.partitionCount, replicationFactor: defaults.replicationFactor)
            },
            timeoutMs: Int32(MetadataService.forwardTimeout * 1000))
        if let response = try metadata.forwardToActiveController(request, version: 7) {
            let created = response.topics.filter {
                $0.errorCode == ErrorCode.none.rawValue || $0.errorCode == ErrorCode.topicAlreadyExists.rawValue
            }.map(\.name)
            metadata.awaitImage { image in created.allSatisfy { image.topic(named: $0) != nil } }
            return created
        }
        return try metadata.execute { image in
            let missing = names.filter { image.topic(named: $0) == nil && TopicName.isValid($0) }
            let seed = UInt64.random(in: .min ... .max)
            return TopicCommands(image: image, defaults: defaults, placementSeed: seed).createTopics(
                missing.map { TopicCommands.NewTopic(name: $0) }
            ) {
                KafkaUUID.random()
            }
        }.filter { $0.result.isOK }.map(\.name)
    }
}
