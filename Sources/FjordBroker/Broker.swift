import FjordController
import FjordSecurity
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
    let logger: Logger
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
            let kraft = configuration.isKRaftMode
            let services = try openLogs(
                logManager: logManager, clusterID: meta.clusterID, threadPool: threadPool, throughQuorum: kraft)
            // KRaft mode: the controller listener and the quorum's driver come first; the broker side waits until
            // the metadata image has caught up with the quorum (`serve`).
            let quorum = kraft ? try await startQuorum(services: services, meta: meta, group: group) : nil
            let isBroker = !kraft || configuration.processRoles.contains(.broker)
            do {
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    if let quorum {
                        // Both run until cancelled: they outlive the broker side's controlled shutdown.
                        tasks.addTask { try await quorum.driver.run() }
                        if let registration = quorum.registration { tasks.addTask { try await registration.run() } }
                        if configuration.processRoles.contains(.controller) {
                            tasks.addTask {
                                try await BrokerSessionExpiry(
                                    metadata: services.metadata, driver: quorum.driver, sessions: quorum.sessions,
                                    threadPool: threadPool, logger: self.logger
                                ).run()
                            }
                            tasks.addTask {
                                try await LeaderBalancer(
                                    configuration: self.configuration, metadata: services.metadata,
                                    driver: quorum.driver,
                                    threadPool: threadPool, logger: self.logger
                                ).run()
                            }
                        }
                    }
                    if isBroker {
                        tasks.addTask {
                            try await self.serve(
                                services: services, quorum: quorum, meta: meta, logManager: logManager, group: group,
                                threadPool: threadPool)
                        }
                    } else if let quorum {
                        tasks.addTask {
                            try await self.serveController(services: services, quorum: quorum, group: group)
                        }
                    }
                    // The first to end (serving after a graceful shutdown, or a driver that failed) ends the others.
                    try await tasks.next()
                    tasks.cancelAll()
                    while try await tasks.next() != nil {}
                    logger.info("every service stopped: closing the listeners, the I/O pool and the logs")
                }
            } catch {
                await quorum?.server?.close()
                throw error
            }
            await quorum?.server?.close()
            try? await threadPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            services.writeProducerSnapshots()
        } catch {
            try? await threadPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            try? logManager.shutdown()
            // A broker-only node stopped while it was still looking for the quorum's voters (`discoverVoters`).
            if error is CancellationError, Task.isShuttingDownGracefully {
                logger.info("stopped before the metadata quorum was found")
                return
            }
            throw error
        }
        try logManager.shutdown()
        logger.info("stopped")
    }

    /// The broker side: once the metadata image is current (at once for a node alone; after catching up with the
    /// quorum in KRaft mode), loads the coordinators, opens the broker listeners and runs the storage and
    /// coordinator services until a graceful shutdown, then closes the listeners. In KRaft mode the broker registers
    /// with the active controller and is "ready" once unfenced; at shutdown it makes a controlled shutdown first.
    private func serve(
        services: BrokerServices, quorum: QuorumRuntime?, meta: MetaProperties, logManager: LogManager,
        group: MultiThreadedEventLoopGroup, threadPool: NIOThreadPool
    ) async throws {
        if let quorum {
            guard try await waitUntilCaughtUp(quorum.driver) else { return }
            try await threadPool.runIfActive {
                try services.groups.load()
                try services.transactions.load()
            }
        }
        // KRaft mode: the broker registers and waits to be unfenced before its listeners open, so a client that can
        // connect finds it in Metadata; a listener on port 0 is bound first, as its port must be advertised.
        let bindFirst = quorum == nil || configuration.advertisedListeners.contains { $0.port == 0 }
        var opened = bindFirst ? try await startServer(services: services, group: group, quorum: quorum) : nil
        let lifecycle = quorum.map {
            makeLifecycle(quorum: $0, services: services, meta: meta, boundPorts: opened?.boundPorts ?? [])
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                if let lifecycle {
                    tasks.addTask { try await lifecycle.run() }
                    guard await lifecycle.waitUntilUnfenced() else {
                        tasks.cancelAll()
                        return
                    }
                }
                let server: KafkaServer
                if let opened {
                    server = opened
                } else {
                    server = try await startServer(services: services, group: group, quorum: quorum)
                    opened = server
                }
                boundPortsBox.withLockedValue {
                    $0 = boundPortsInListenerOrder(broker: server, controller: quorum?.server)
                }
                let metricsServer = try await startMetricsServer(services: services, group: group)
                servingBox.withLockedValue { $0 = true }
                logger.info(
                    "ready",
                    metadata: [
                        "ports": "\(server.boundPorts)", "metrics.port": "\(metricsPort.map(String.init) ?? "off")",
                        "brokers": "\(services.metadata.liveBrokers(services.image).map(\.nodeID))",
                    ])
                addStorageServices(to: &tasks, services: services, logManager: logManager, threadPool: threadPool)
                if let quorum, let lifecycle {
                    // Followers pull their partitions from the leaders (a node alone leads everything it holds) on
                    // the leaders' `inter.broker.listener.name` endpoints, and leaders ask the controller for ISR
                    // changes.
                    let fetchers = ReplicaFetcherManager(
                        localID: configuration.nodeID, replicas: services.replicas, metadata: services.metadata,
                        listenerName: configuration.interBrokerListenerName, group: group, threadPool: threadPool,
                        properties: configuration.properties, throttles: services.replicationThrottles,
                        brokerEpoch: { lifecycle.current.brokerEpoch },
                        logger: logger)
                    tasks.addTask { await fetchers.run() }
                    let isrChanges = ISRChangeSender(
                        localID: configuration.nodeID, replicas: services.replicas, driver: quorum.driver,
                        peers: quorum.peers, brokerEpoch: { lifecycle.current.brokerEpoch }, logger: logger)
                    tasks.addTask { await isrChanges.run() }
                }
                try? await gracefulShutdown()
                logger.info("shutting down")
                // Still serving: the controller moves this broker's leaderships away before it stops.
                await lifecycle?.controlledShutdown(timeout: .milliseconds(configuration.brokerSessionTimeoutMs))
                tasks.cancelAll()
                while (try? await tasks.next()) != nil {}
                // Each step of a shutdown is logged: a node that does not stop shows where it stopped.
                logger.info("broker services stopped")
                servingBox.withLockedValue { $0 = false }
                // Order matters: stop answering probes and scrapes (a stopping broker is not healthy); stop accepting;
                // the caller then lets blocking work already queued (metadata commits, topic creation) finish while
                // the event loops can still take its results, closes the connections, saves producer state and
                // closes every log, so nothing writes to a log after it is closed.
                await metricsServer?.close()
            }
        } catch {
            await opened?.close()
            throw error
        }
        await opened?.close()
    }

    /// A controller-only node (`process.roles=controller`): it votes in the quorum and serves its controller
    /// listener (started by `startQuorum`) and nothing else — no broker listener, no registration, no partitions,
    /// no group or transaction coordinator. "ready" once its image has caught up with the quorum; a graceful shutdown
    /// ends it, after which `run()` stops the driver (a leader resigns first).
    private func serveController(services: BrokerServices, quorum: QuorumRuntime, group: MultiThreadedEventLoopGroup)
        async throws
    {
        guard try await waitUntilCaughtUp(quorum.driver) else { return }
        boundPortsBox.withLockedValue { $0 = quorum.server?.boundPorts ?? [] }
        let metricsServer = try await startMetricsServer(services: services, group: group)
        servingBox.withLockedValue { $0 = true }
        logger.info(
            "ready",
            metadata: [
                "roles": "controller", "ports": "\(boundPorts)",
                "metrics.port": "\(metricsPort.map(String.init) ?? "off")",
            ])
        try? await gracefulShutdown()
        logger.info("shutting down")
        servingBox.withLockedValue { $0 = false }
        await metricsServer?.close()
    }

    /// The storage and coordinator services, run until the graceful shutdown that ends this node.
    private func addStorageServices(
        to tasks: inout ThrowingTaskGroup<Void, any Error>, services: BrokerServices, logManager: LogManager,
        threadPool: NIOThreadPool
    ) {
        tasks.addTask { try await self.makeFlusher(logManager: logManager, threadPool: threadPool).run() }
        tasks.addTask { try await self.makeRetention(logManager: logManager, threadPool: threadPool).run() }
        tasks.addTask {
            try await HighWatermarkCheckpointer(
                logManager: logManager, threadPool: threadPool,
                interval: .milliseconds(self.configuration.replicaHighWatermarkCheckpointIntervalMs),
                logger: self.logger
            ).run()
        }
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
    }

    /// Opens every partition log (recovering after an unclean stop), then replays the metadata log into the image
    /// and the replicas. Internal, not private: the handler tests build their services with it (`BrokerHarness`).
    /// `throughQuorum` (KRaft mode): the metadata log is the quorum's — not replayed here, and the coordinators are
    /// loaded only once the quorum's driver has caught up (`serve`).
    func openLogs(logManager: LogManager, clusterID: String, threadPool: NIOThreadPool, throughQuorum: Bool = false)
        throws -> BrokerServices
    {
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
        // The client listener. A controller-only node advertises none (all its listeners are controller listeners):
        // it lists brokers on the inter-broker listener.
        let advertised =
            configuration.advertisedListeners.first { $0.name == configuration.listeners.first?.name }
            ?? configuration.advertisedListeners.first
        // A node alone knows itself from configuration; in KRaft mode every broker, this one too, is known only from
        // its replayed registration, so all nodes' images agree.
        let publisher = MetadataPublisher(
            MetadataImage(
                clusterID: clusterID, controllerID: configuration.nodeID,
                brokers: throughQuorum
                    ? []
                    : advertised.map { [.init(nodeID: configuration.nodeID, host: $0.host, port: Int32($0.port))] }
                        ?? []
            ))
        let replicas = ReplicaManager(
            nodeID: configuration.nodeID, logManager: logManager, brokerProperties: configuration.properties,
            logger: logger
        )
        let metadata = MetadataService(
            log: metadataLog, publisher: publisher, replicas: replicas, logger: logger,
            clientListenerName: throughQuorum ? advertised?.name ?? configuration.interBrokerListenerName : nil)
        if throughQuorum {
            metadata.awaitQuorumCatchUp()
        } else {
            try metadata.load()
        }
        let services = BrokerServices(
            configuration: configuration, metadata: metadata, replicas: replicas, threadPool: threadPool,
            clock: SystemStorageClock(), metrics: BrokerMetrics(partitionLevel: configuration.metricsPartitionLevel),
            logger: logger
        )
        if !throughQuorum {
            try services.groups.load()
            // After the groups: finishing an interrupted transaction may complete offsets in __consumer_offsets.
            try services.transactions.load()
        }
        return services
    }

    /// Every API this broker serves. ApiVersions is derived from this list. On a node of a metadata quorum the
    /// admin requests that change metadata, and DescribeQuorum, are forwarded to the active controller
    /// (`ForwardingHandler`).
    static func makeRegistry(services: BrokerServices, quorum: QuorumRuntime? = nil) -> (
        APIRegistry, ApiVersionsHandler
    ) {
        let publisher = services.metadata.publisher
        var registry = APIRegistry(ioThreads: services.threadPool)
        func registerAdmin<Handler: TypedAPIHandler>(_ handler: Handler) {
            if let quorum {
                registry.register(ForwardingHandler(inner: handler, quorum: quorum, threadPool: services.threadPool))
            } else {
                registry.register(handler)
            }
        }
        if let quorum {
            // Kafka's brokers forward DescribeQuorum to the active controller: only the leader knows every replica's
            // progress (an observer's own driver would answer NOT_LEADER_OR_FOLLOWER).
            registry.register(
                ForwardingHandler(
                    inner: DescribeQuorumHandler(
                        driver: quorum.driver, endpoints: quorum.endpoints,
                        listenerName: services.configuration.controllerListenerNames.first ?? "CONTROLLER"),
                    quorum: quorum, threadPool: services.threadPool))
        }
        for handler in controllerAdminHandlers(services: services) { registerAdmin(handler) }
        registry.register(ProduceHandler(services: services))
        registry.register(FetchHandler(services: services))
        registry.register(ListOffsetsHandler(services: services))
        registry.register(MetadataHandler(metadata: publisher, services: services))
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
        registry.register(DescribeAclsHandler(services: services))
        registry.register(DescribeUserScramCredentialsHandler(services: services))
        registry.register(DescribeClientQuotasHandler(services: services))
        registry.register(DescribeLogDirsHandler(services: services))
        registry.register(DescribeClusterHandler(metadata: services.metadata, authorizer: services.authorizer))
        registry.register(DescribeTopicPartitionsHandler(metadata: publisher, authorizer: services.authorizer))
        registry.register(GetTelemetrySubscriptionsHandler())
        registry.register(SaslHandshakeHandler())
        registry.register(SaslAuthenticateHandler())
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
        let apiVersions = ApiVersionsHandler(registry: registry, metadata: quorum == nil ? nil : publisher)
        registry.register(apiVersions)
        return (registry, apiVersions)
    }

    /// The admin APIs the active controller decides: a broker listener forwards them there (`ForwardingHandler`)
    /// and the controller listener serves them — one list, so that no forwarded API goes unserved.
    static func controllerAdminHandlers(services: BrokerServices) -> [any TypedAPIHandler] {
        [
            CreateTopicsHandler(services: services), DeleteTopicsHandler(services: services),
            CreatePartitionsHandler(services: services), AlterConfigsHandler(services: services),
            IncrementalAlterConfigsHandler(services: services), UpdateFeaturesHandler(services: services),
            ElectLeadersHandler(services: services), AlterPartitionReassignmentsHandler(services: services),
            ListPartitionReassignmentsHandler(services: services), CreateAclsHandler(services: services),
            DeleteAclsHandler(services: services), AlterUserScramCredentialsHandler(services: services),
            AlterClientQuotasHandler(services: services),
        ]
    }

    /// The SASL listeners: their mechanisms and PLAIN users from the configuration, SCRAM credentials from the
    /// metadata image current when a client authenticates.
    private func saslListeners(publisher: MetadataPublisher) throws -> [String: SaslListener] {
        try configuration.saslListenerConfigurations().mapValues { listener in
            SaslListener(
                mechanisms: listener.mechanisms, plainUsers: listener.plainUsers,
                oauthBearerValidator: try listener.oauthBearerOptions.map {
                    try UnsecuredJwtValidator(options: $0, now: { SaslListener.wallClockMs() })
                },
                scramCredential: { publisher.image.scramCredential($0, user: $1) },
                reauthenticationMs: configuration.connectionsMaxReauthMs,
                failedAuthenticationDelayMs: configuration.connectionFailedAuthenticationDelayMs,
                maximumReceiveBytes: configuration.saslServerMaxReceiveSize)
        }
    }

    /// Binds the broker listeners (in KRaft mode every listener but the controller's, which `startQuorum` bound).
    private func startServer(services: BrokerServices, group: MultiThreadedEventLoopGroup, quorum: QuorumRuntime?)
        async throws -> KafkaServer
    {
        let (registry, apiVersions) = Self.makeRegistry(services: services, quorum: quorum)
        let controllerNames = Set(configuration.controllerListenerNames)
        let listeners = configuration.listeners.filter { !controllerNames.contains($0.name) }
        let server = try await KafkaServer.bind(
            listeners: listeners, group: group, registry: registry, apiVersions: apiVersions,
            maximumFrameBytes: configuration.socketRequestMaxBytes,
            metrics: services.metrics.requestMetrics(for: registry.supportedVersions.map(\.apiKey)),
            sasl: try saslListeners(publisher: services.metadata.publisher),
            tls: try configuration.tlsListenerConfigurations().reduce(into: [:]) { listeners, entry in
                listeners[entry.key] = try TlsListener(entry.value, listener: entry.key)
            },
            fileReads: services.threadPool, logger: logger
        )
        // Port 0 asks the OS for a free port: advertise the real one, that of the listener advertised (not a
        // controller listener listed before it).
        let advertisedName =
            configuration.advertisedListeners.first { $0.name == configuration.listeners.first?.name }
            .map(\.name) ?? configuration.advertisedListeners[0].name
        let advertisedIndex = listeners.firstIndex { $0.name == advertisedName } ?? 0
        let ports = server.boundPorts
        // (In KRaft mode the registration carries the bound ports instead.)
        if quorum == nil, services.metadata.publisher.image.brokers.first?.port == 0, advertisedIndex < ports.count {
            let port = ports[advertisedIndex]
            services.metadata.updateImage { image in image.brokers[0].port = Int32(port) }
        }
        if quorum == nil {
            // A node alone tells each client the address of the listener it came in on (its advertised host, the
            // port actually bound).
            var endpoints: [String: MetadataImage.Broker] = [:]
            for (listener, port) in zip(listeners, ports) {
                let advertised = configuration.advertisedListeners.first { $0.name == listener.name }
                let host = advertised?.host ?? (listener.host.isEmpty ? "127.0.0.1" : listener.host)
                let advertisedPort = advertised.map { $0.port == 0 ? port : $0.port } ?? port
                endpoints[listener.name] = MetadataImage.Broker(
                    nodeID: configuration.nodeID, host: host, port: Int32(advertisedPort))
            }
            services.metadata.localEndpoints.withLockedValue { $0 = endpoints }
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
