import Foundation
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A Fjord node: loads its data directories, builds the API registry, and serves clients until shut down.
///
/// `run()` follows swift-service-lifecycle: it returns after a graceful shutdown (SIGINT/SIGTERM through the
/// `ServiceGroup` of `fjord broker`), having stopped accepting and closed the listeners.
public final class Broker: Service, Sendable {
    public let configuration: BrokerConfiguration
    private let logger: Logger
    private let boundPortsBox = NIOLockedValueBox<[Int]>([])

    public init(configuration: BrokerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The ports the listeners are bound to, once `run()` has bound them.
    public var boundPorts: [Int] { boundPortsBox.withLockedValue { $0 } }

    public func run() async throws {
        let meta = try loadDataDirectories()
        logger.info("starting", metadata: ["node.id": "\(configuration.nodeID)", "cluster.id": "\(meta.clusterID)"])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.networkThreads)
        do {
            let server = try await startServer(clusterID: meta.clusterID, group: group)
            boundPortsBox.withLockedValue { $0 = server.boundPorts }
            logger.info("ready", metadata: ["ports": "\(server.boundPorts)"])
            try? await gracefulShutdown()
            logger.info("shutting down")
            await server.close()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        logger.info("stopped")
    }

    private func startServer(clusterID: String, group: MultiThreadedEventLoopGroup) async throws -> KafkaServer {
        let advertised = configuration.advertisedListeners.first { $0.name == configuration.listeners.first?.name }
            ?? configuration.advertisedListeners[0]
        var listeners = configuration.listeners
        let publisher = MetadataPublisher(MetadataImage(
            clusterID: clusterID, controllerID: configuration.nodeID,
            brokers: [.init(nodeID: configuration.nodeID, host: advertised.host, port: Int32(advertised.port), rack: nil)]
        ))
        var registry = APIRegistry()
        registry.register(MetadataHandler(metadata: publisher))
        let apiVersions = ApiVersionsHandler(registry: registry)
        registry.register(apiVersions)
        // Port 0 asks the OS for a free port; bind first, then advertise the real one.
        let server = try await KafkaServer.bind(
            listeners: listeners, group: group, registry: registry, apiVersions: apiVersions,
            maximumFrameBytes: configuration.socketRequestMaxBytes, logger: logger
        )
        if advertised.port == 0, let port = server.boundPorts.first {
            listeners[0].port = port
            var image = publisher.image
            image.brokers[0].port = Int32(port)
            publisher.publish(image)
        }
        return server
    }

    /// Creates or checks `meta.properties` in every data directory; all must name the same cluster.
    private func loadDataDirectories() throws -> MetaProperties {
        var first: MetaProperties?
        for directory in configuration.logDirs {
            let meta = try MetaProperties.loadOrCreate(directory: directory, nodeID: configuration.nodeID, clusterID: first?.clusterID)
            if let first, first.clusterID != meta.clusterID {
                throw ConfigurationError(
                    key: "log.dirs", "\(directory) belongs to cluster \(meta.clusterID), not \(first.clusterID)"
                )
            }
            first = first ?? meta
        }
        return first!
    }
}
