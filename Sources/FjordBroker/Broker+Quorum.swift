import FjordController
import FjordRaft
import FjordStorage
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// What a KRaft node runs for its metadata quorum: the driver, its connections to the controllers, and — on a node
/// with the controller role — the controller listener. A broker-only node is an observer of the quorum: it fetches
/// the metadata log from the leader without voting and has no controller listener of its own.
struct QuorumRuntime: Sendable {
    let driver: RaftDriver
    let peers: ControllerPeers
    /// The controller listener's server; nil on a broker-only node.
    let server: KafkaServer?
    /// Each voter's controller listener.
    let endpoints: [NodeID: HostAndPort]
    /// The broker sessions this node keeps while it is the active controller.
    let sessions: BrokerSessions
    /// This controller's registration with the active controller (KIP-919); nil on a broker-only node.
    var registration: ControllerRegistrationManager? = nil
}

extension Broker {
    /// Loads the quorum's durable state, starts its driver's connections and, on a node with the controller role,
    /// binds the controller listener. The driver itself runs as a child task of `run()`; commands go through it from
    /// now on. Whether this node votes or observes is the core's to see: it votes when its id is in the voter set.
    func startQuorum(services: BrokerServices, meta: MetaProperties, group: MultiThreadedEventLoopGroup) async throws
        -> QuorumRuntime
    {
        let directory = KRaftStartupCheck.metadataPartitionDirectory(configuration)
        var endpoints = try quorumEndpoints(directory: directory)
        var voters = configuration.quorumVoters.map { ReplicaKey(id: $0.nodeID) }
        if endpoints.isEmpty, !configuration.processRoles.contains(.controller) {
            // A broker-only node that knows the quorum only by its bootstrap servers (`KRaftStartupCheck`).
            guard let discovered = try await discoverVoters(group: group) else { throw CancellationError() }
            endpoints = discovered
            voters = discovered.keys.sorted().map { ReplicaKey(id: $0) }
        }
        var raft = RaftConfiguration(
            nodeID: configuration.nodeID,
            directoryID: KafkaUUID(base64URLEncoded: meta.directoryID) ?? .zero,
            voters: voters, clusterID: meta.clusterID)
        raft.electionTimeoutMs = Int64(configuration.quorumElectionTimeoutMs)
        raft.electionBackoffMaxMs = Int64(configuration.quorumElectionBackoffMaxMs)
        raft.fetchTimeoutMs = Int64(configuration.quorumFetchTimeoutMs)
        raft.requestTimeoutMs = Int64(configuration.quorumRequestTimeoutMs)
        raft.retryBackoffMs = Int64(configuration.quorumRetryBackoffMs)
        var driverConfiguration = RaftDriver.Configuration(raft: raft)
        driverConfiguration.snapshotMaxNewRecordBytes = configuration.metadataSnapshotMaxNewRecordBytes
        // The broker side's controlled shutdown may need this node's quorum: `run()` cancels the driver after it.
        driverConfiguration.stopsOnGracefulShutdown = false
        let peers = ControllerPeers(
            localID: configuration.nodeID, endpoints: endpoints, group: group,
            requestTimeout: .milliseconds(Int64(configuration.quorumRequestTimeoutMs)), logger: logger)
        let store = RaftLogStore(directory: directory, log: services.metadata.log, logger: logger)
        let driver = try RaftDriver(
            configuration: driverConfiguration, store: store, peers: peers, stateMachine: services.metadata,
            logger: logger)
        services.metadata.attach(quorum: MetadataService.Quorum(driver: driver, eventLoop: group.next()))
        let sessions = BrokerSessions(
            sessionTimeoutMs: Int64(configuration.brokerSessionTimeoutMs),
            uncleanLeaderElectionDefault: configuration.uncleanLeaderElectionEnable)
        let (registry, apiVersions) = Self.makeControllerRegistry(
            services: services, driver: driver, sessions: sessions, endpoints: endpoints,
            listenerName: configuration.controllerListenerNames.first ?? "CONTROLLER")
        // A broker-only node reaches the controllers' listeners but serves none (`validateKRaft` refuses one in its
        // `listeners`).
        let server =
            configuration.processRoles.contains(.controller)
            ? try await KafkaServer.bind(
                listeners: configuration.controllerListeners, group: group, registry: registry,
                apiVersions: apiVersions, maximumFrameBytes: configuration.socketRequestMaxBytes,
                metrics: services.metrics.requestMetrics(for: registry.supportedVersions.map(\.apiKey)), logger: logger)
            : nil
        let registration = makeControllerRegistration(
            driver: driver, peers: peers, services: services, controllerServer: server, endpoints: endpoints)
        return QuorumRuntime(
            driver: driver, peers: peers, server: server, endpoints: endpoints, sessions: sessions,
            registration: registration)
    }

    /// The voters' controller listeners: `controller.quorum.voters`, else the endpoints of the voter set in the
    /// latest snapshot (the bootstrap snapshot `fjord storage format` wrote), on the first controller listener name.
    private func quorumEndpoints(directory: String) throws -> [NodeID: HostAndPort] {
        if !configuration.quorumVoters.isEmpty {
            return Dictionary(
                configuration.quorumVoters.map { ($0.nodeID, HostAndPort(host: $0.host, port: $0.port)) },
                uniquingKeysWith: { first, _ in first })
        }
        guard let latest = try RaftSnapshotFile.list(in: directory).last,
            let voters = try RaftSnapshotFile.read(latest, in: directory)?.voters
        else { return [:] }
        let name = configuration.controllerListenerNames.first
        var endpoints = [NodeID: HostAndPort]()
        for voter in voters.voters {
            let endpoint = voter.endpoints.first { $0.name == name } ?? voter.endpoints.first
            if let endpoint { endpoints[voter.voterID] = HostAndPort(host: endpoint.host, port: Int(endpoint.port)) }
        }
        return endpoints
    }

    /// Waits until the metadata image has caught up with the quorum; false if shutdown came first.
    func waitUntilCaughtUp(_ driver: RaftDriver) async throws -> Bool {
        var waited = 0
        while !driver.status.isCaughtUp {
            if Task.isCancelled || Task.isShuttingDownGracefully { return false }
            if waited % 250 == 0 {
                logger.info("waiting for the metadata quorum", metadata: ["quorum": "\(driver.status.role)"])
            }
            try await Task.sleep(nanoseconds: 20_000_000)
            waited += 1
        }
        return true
    }

    /// What the controller listener serves: the Raft RPCs, DescribeQuorum, broker registration and heartbeats,
    /// partition leaders' AlterPartition, and the admin requests other nodes forward to the active controller. ApiVersions on this listener lists exactly
    /// these.
    static func makeControllerRegistry(
        services: BrokerServices, driver: RaftDriver, sessions: BrokerSessions, endpoints: [NodeID: HostAndPort],
        listenerName: String
    ) -> (APIRegistry, ApiVersionsHandler) {
        var registry = APIRegistry(ioThreads: services.threadPool)
        registry.register(VoteHandler(driver: driver))
        registry.register(BeginQuorumEpochHandler(driver: driver))
        registry.register(EndQuorumEpochHandler(driver: driver))
        registry.register(ControllerFetchHandler(driver: driver))
        registry.register(FetchSnapshotHandler(driver: driver))
        registry.register(DescribeQuorumHandler(driver: driver, endpoints: endpoints, listenerName: listenerName))
        registry.register(BrokerRegistrationHandler(services: services, driver: driver, sessions: sessions))
        registry.register(BrokerHeartbeatHandler(services: services, driver: driver, sessions: sessions))
        for handler in Self.controllerAdminHandlers(services: services) { registry.register(handler) }
        registry.register(AllocateProducerIDsHandler(services: services))
        registry.register(AlterPartitionHandler(services: services))
        registry.register(ControllerRegistrationHandler(services: services))
        registry.register(
            DescribeClusterHandler(
                metadata: services.metadata, endpointType: .controller, controllerListenerName: listenerName,
                driver: driver))
        let apiVersions = ApiVersionsHandler(registry: registry, metadata: services.metadata.publisher)
        registry.register(apiVersions)
        return (registry, apiVersions)
    }

    /// The bound ports in `listeners` order, whichever server bound them.
    func boundPortsInListenerOrder(broker: KafkaServer, controller: KafkaServer?) -> [Int] {
        let controllerNames = Set(configuration.controllerListenerNames)
        var brokerPorts = broker.boundPorts.makeIterator()
        var controllerPorts = (controller?.boundPorts ?? []).makeIterator()
        return configuration.listeners.compactMap { listener in
            controllerNames.contains(listener.name) && controller != nil ? controllerPorts.next() : brokerPorts.next()
        }
    }
}
