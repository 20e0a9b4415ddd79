import FjordController
import FjordStorage
import Foundation
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A Fjord node: opens its data directories, replays the metadata log, and serves clients until shut down.
///
/// `run()` follows swift-service-lifecycle: it returns after a graceful shutdown (SIGINT/SIGTERM through the
/// `ServiceGroup` of `fjord broker`), having stopped accepting, closed the listeners, and flushed and closed every
/// log (checkpoints and the clean-shutdown marker written last).
///
/// Each broker owns its metrics registry (`BrokerMetrics`), served on `metrics.listener` once the Kafka listeners
/// are up and closed first at shutdown; nothing is registered in swift-metrics' global `MetricsSystem`.
public final class Broker: Service, Sendable {
    /// Kafka's fixed id of the `__cluster_metadata` topic (`Uuid.METADATA_TOPIC_ID`).
    static let metadataTopicID = KafkaUUID(high: 0, low: 1)

    public let configuration: BrokerConfiguration
    private let logger: Logger
    private let boundPortsBox = NIOLockedValueBox<[Int]>([])
    private let metricsPortBox = NIOLockedValueBox<Int?>(nil)
    /// True from the moment the listeners are up until shutdown starts: what `/health` reports.
    private let servingBox = NIOLockedValueBox(false)

    public init(configuration: BrokerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The ports the listeners are bound to, once `run()` has bound them.
    public var boundPorts: [Int] { boundPortsBox.withLockedValue { $0 } }

    /// The port `/metrics` is served on, once `run()` has bound it (nil when `metrics.listener` is off).
    public var metricsPort: Int? { metricsPortBox.withLockedValue { $0 } }

    public func run() async throws {
        let meta = try loadDataDirectories()
        logger.info("starting", metadata: ["node.id": "\(configuration.nodeID)", "cluster.id": "\(meta.clusterID)"])
        let threadPool = NIOThreadPool(numberOfThreads: configuration.ioThreads)
        threadPool.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.networkThreads)
        let logManager = LogManager(dataDirectories: configuration.logDirs, logger: logger)
        do {
            let services = try openLogs(logManager: logManager, clusterID: meta.clusterID, threadPool: threadPool)
            let server = try await startServer(services: services, group: group)
            boundPortsBox.withLockedValue { $0 = server.boundPorts }
            let metricsServer: MetricsServer?
            do {
                metricsServer = try await startMetricsServer(services: services, group: group)
            } catch {
                await server.close()
                throw error
            }
            servingBox.withLockedValue { $0 = true }
            logger.info(
                "ready",
                metadata: ["ports": "\(server.boundPorts)", "metrics.port": "\(metricsPort.map(String.init) ?? "off")"])
            // The storage services run until the graceful shutdown that ends this node, then stop with it.
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await self.makeFlusher(logManager: logManager, threadPool: threadPool).run() }
                tasks.addTask { try await self.makeRetention(logManager: logManager, threadPool: threadPool).run() }
                tasks.addTask {
                    try await self.makeCleaner(
                        logManager: logManager, replicas: services.replicas, threadPool: threadPool
                    ).run()
                }
                // Session expiry, rebalance timeouts and offset expiry of the group coordinator.
                tasks.addTask {
                    try await GroupCoordinatorService(coordinator: services.groups, threadPool: threadPool).run()
                }
                // Timed-out transactions and idle transactional ids.
                tasks.addTask {
                    try await TransactionCoordinatorService(
                        coordinator: services.transactions, threadPool: threadPool,
                        interval: .milliseconds(Int64(self.configuration.transactionAbortTimedOutCheckIntervalMs))
                    ).run()
                }
                try? await gracefulShutdown()
                tasks.cancelAll()
                while (try? await tasks.next()) != nil {}
            }
            logger.info("shutting down")
            servingBox.withLockedValue { $0 = false }
            // Order matters: stop answering probes and scrapes (a stopping broker is not healthy); stop accepting; let blocking work already queued (metadata commits, topic creation)
            // finish while the event loops can still take its results; close the connections; then save producer
            // state and close every log, so nothing writes to a log after it is closed.
            await metricsServer?.close()
            await server.close()
            try? await threadPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            services.writeProducerSnapshots()
        } catch {
            try? await threadPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            try? logManager.shutdown()
            throw error
        }
        try logManager.shutdown()
        logger.info("stopped")
    }

    /// Opens every partition log (recovering after an unclean stop), then replays the metadata log into the image
    /// and the replicas. Internal, not private: the handler tests build their services with it (`BrokerHarness`).
    func openLogs(logManager: LogManager, clusterID: String, threadPool: NIOThreadPool) throws -> BrokerServices {
        try logManager.loadExisting { topicPartition in
            topicPartition.topic == MetadataService.topicName ? MetadataService.logConfiguration : LogConfiguration()
        }
        if !logManager.previousShutdownWasClean, !logManager.allLogs.isEmpty {
            logger.warning("previous shutdown was not clean: logs were recovered")
        }
        let metadataLog =
            try logManager.log(for: MetadataService.topicPartition)
            ?? logManager.createLog(
                MetadataService.topicPartition, topicID: Self.metadataTopicID,
                configuration: MetadataService.logConfiguration)
        let advertised =
            configuration.advertisedListeners.first { $0.name == configuration.listeners.first?.name }
            ?? configuration.advertisedListeners[0]
        let publisher = MetadataPublisher(
            MetadataImage(
                clusterID: clusterID, controllerID: configuration.nodeID,
                brokers: [.init(nodeID: configuration.nodeID, host: advertised.host, port: Int32(advertised.port))]
            ))
        let replicas = ReplicaManager(
            nodeID: configuration.nodeID, logManager: logManager, brokerProperties: configuration.properties,
            logger: logger
        )
        let metadata = MetadataService(log: metadataLog, publisher: publisher, replicas: replicas, logger: logger)
        try metadata.load()
        let services = BrokerServices(
            configuration: configuration, metadata: metadata, replicas: replicas, threadPool: threadPool,
            clock: SystemStorageClock(), metrics: BrokerMetrics(partitionLevel: configuration.metricsPartitionLevel),
            logger: logger
        )
        try services.groups.load()
        // After the groups: finishing an interrupted transaction may complete offsets in __consumer_offsets.
        try services.transactions.load()
        return services
    }

    /// Every API this broker serves. ApiVersions is derived from this list.
    static func makeRegistry(services: BrokerServices) -> (APIRegistry, ApiVersionsHandler) {
        let publisher = services.metadata.publisher
        var registry = APIRegistry(ioThreads: services.threadPool)
        registry.register(ProduceHandler(services: services))
        registry.register(FetchHandler(services: services))
        registry.register(ListOffsetsHandler(services: services))
        registry.register(MetadataHandler(metadata: publisher, services: services))
        registry.register(CreateTopicsHandler(services: services))
        registry.register(DeleteTopicsHandler(services: services))
        registry.register(DeleteRecordsHandler(services: services))
        registry.register(InitProducerIDHandler(services: services))
        registry.register(AddPartitionsToTxnHandler(services: services))
        registry.register(AddOffsetsToTxnHandler(services: services))
        registry.register(EndTxnHandler(services: services))
        registry.register(TxnOffsetCommitHandler(services: services))
        registry.register(DescribeTransactionsHandler(services: services))
        registry.register(ListTransactionsHandler(services: services))
        registry.register(DescribeProducersHandler(services: services))
        registry.register(WriteTxnMarkersHandler(services: services))
        registry.register(OffsetForLeaderEpochHandler(services: services))
        registry.register(DescribeConfigsHandler(services: services))
        registry.register(AlterConfigsHandler(services: services))
        registry.register(DescribeLogDirsHandler(services: services))
        registry.register(CreatePartitionsHandler(services: services))
        registry.register(IncrementalAlterConfigsHandler(services: services))
        registry.register(DescribeClusterHandler(metadata: publisher))
        registry.register(DescribeTopicPartitionsHandler(metadata: publisher))
        registry.register(GetTelemetrySubscriptionsHandler())
        registry.register(PushTelemetryHandler())
        registry.register(FindCoordinatorHandler(services: services))
        registry.register(JoinGroupHandler(services: services))
        registry.register(HeartbeatHandler(services: services))
        registry.register(LeaveGroupHandler(services: services))
        registry.register(SyncGroupHandler(services: services))
        registry.register(OffsetCommitHandler(services: services))
        registry.register(OffsetFetchHandler(services: services))
        registry.register(DescribeGroupsHandler(services: services))
        registry.register(ConsumerGroupHeartbeatHandler(services: services))
        registry.register(ConsumerGroupDescribeHandler(services: services))
        registry.register(ListGroupsHandler(services: services))
        registry.register(DeleteGroupsHandler(services: services))
        registry.register(OffsetDeleteHandler(services: services))
        let apiVersions = ApiVersionsHandler(registry: registry)
        registry.register(apiVersions)
        return (registry, apiVersions)
    }

    private func startServer(services: BrokerServices, group: MultiThreadedEventLoopGroup) async throws -> KafkaServer {
        let (registry, apiVersions) = Self.makeRegistry(services: services)
        let server = try await KafkaServer.bind(
            listeners: configuration.listeners, group: group, registry: registry, apiVersions: apiVersions,
            maximumFrameBytes: configuration.socketRequestMaxBytes,
            metrics: services.metrics.requestMetrics(for: registry.supportedVersions.map(\.apiKey)), logger: logger
        )
        // Port 0 asks the OS for a free port: advertise the real one, that of the listener advertised (not a
        // controller listener listed before it).
        let publisher = services.metadata.publisher
        let advertisedName =
            configuration.advertisedListeners.first { $0.name == configuration.listeners.first?.name }
            .map(\.name) ?? configuration.advertisedListeners[0].name
        let advertisedIndex = configuration.listeners.firstIndex { $0.name == advertisedName } ?? 0
        let ports = server.boundPorts
        if publisher.image.brokers[0].port == 0, advertisedIndex < ports.count {
            let port = ports[advertisedIndex]
            var image = publisher.image
            image.brokers[0].port = Int32(port)
            publisher.publish(image)
        }
        return server
    }

    /// Serves `/metrics` and `/health` on `metrics.listener`, unless it is off. Scrapes compute their gauges from
    /// `services` on the event loop that answers them (in-memory state only: no I/O).
    private func startMetricsServer(services: BrokerServices, group: MultiThreadedEventLoopGroup) async throws
        -> MetricsServer?
    {
        guard let listener = configuration.metricsListener else {
            logger.info("metrics listener off (metrics.listener is empty)")
            return nil
        }
        let serving = servingBox
        let routes = MetricsHTTPHandler.Routes(
            metrics: {
                services.metrics.collect(from: services)
                return services.metrics.render()
            },
            isServing: { serving.withLockedValue { $0 } }
        )
        let server = try await MetricsServer.bind(listener, group: group, routes: routes, logger: logger)
        metricsPortBox.withLockedValue { $0 = server.localAddress?.port }
        return server
    }

    /// fsyncs logs whose `flush.ms` / `flush.messages` are due and segments sealed by rolls (so a crash re-reads only
    /// the active segments), and checkpoints the recovery points: on the thread pool, never an event loop.
    private func makeFlusher(logManager: LogManager, threadPool: NIOThreadPool) -> LogFlusher {
        var flusher = LogFlusher.Configuration()
        flusher.interval = .milliseconds(configuration.flushSchedulerIntervalMs)
        return LogFlusher(manager: logManager, configuration: flusher, threadPool: threadPool, logger: logger)
    }

    /// Deletes segments past `retention.ms` / `retention.bytes` every `log.retention.check.interval.ms`.
    private func makeRetention(logManager: LogManager, threadPool: NIOThreadPool) -> RetentionService {
        var retention = RetentionService.Configuration()
        retention.interval = .milliseconds(configuration.retentionCheckIntervalMs)
        return RetentionService(manager: logManager, configuration: retention, threadPool: threadPool, logger: logger)
    }

    /// Compacts `cleanup.policy=compact` logs every `log.cleaner.backoff.ms`, never past a partition's last stable
    /// offset (nothing of an open transaction is touched; a partition without a replica yet is left alone).
    private func makeCleaner(logManager: LogManager, replicas: ReplicaManager, threadPool: NIOThreadPool)
        -> LogCleanerService
    {
        var cleaner = LogCleanerService.Configuration()
        cleaner.isEnabled = configuration.logCleanerEnable
        cleaner.interval = .milliseconds(configuration.logCleanerBackoffMs)
        cleaner.cleaner.maximumMapEntries = Int(max(1, configuration.logCleanerDedupeBufferSize / 24))
        return LogCleanerService(
            manager: logManager, configuration: cleaner,
            upperBound: { topicPartition in replicas.replica(for: topicPartition)?.lastStableOffset ?? 0 },
            threadPool: threadPool, logger: logger
        )
    }

    /// Creates or checks `meta.properties` in every data directory; all must name the same cluster. With
    /// `process.roles` set the directories must have been formatted (`fjord storage format`) and the quorum must be
    /// one this node can run alone (`KRaftStartupCheck`).
    private func loadDataDirectories() throws -> MetaProperties {
        if configuration.isKRaftMode {
            let meta = try KRaftStartupCheck.loadFormattedDirectories(configuration)
            try KRaftStartupCheck.removeIncompleteSnapshots(configuration)
            try KRaftStartupCheck.checkQuorum(configuration)
            return meta
        }
        var first: MetaProperties?
        for directory in configuration.logDirs {
            let meta = try MetaProperties.loadOrCreate(
                directory: directory, nodeID: configuration.nodeID, clusterID: first?.clusterID)
            if let first, first.clusterID != meta.clusterID {
                throw ConfigurationError(
                    key: "log.dirs", "\(directory) belongs to cluster \(meta.clusterID), not \(first.clusterID)")
            }
            first = first ?? meta
        }
        return first!
    }
}
