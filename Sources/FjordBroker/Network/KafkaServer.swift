import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The listening sockets: accepts connections on every configured listener and gives each its pipeline
/// (on a TLS listener the TLS handler first → frame decoder with the size limit → `KafkaConnectionHandler`, which
/// authenticates first on a SASL listener).
final class KafkaServer: Sendable {
    private let channels: [any Channel]
    let logger: Logger

    /// The addresses actually bound (port 0 in a listener becomes a real port).
    var boundPorts: [Int] { channels.compactMap { $0.localAddress?.port } }

    private init(channels: [any Channel], logger: Logger) {
        self.channels = channels
        self.logger = logger
    }

    /// `sasl`: the listeners, by name, whose connections authenticate with SASL before anything else.
    static func bind(
        listeners: [Listener], group: MultiThreadedEventLoopGroup, registry: APIRegistry,
        apiVersions: ApiVersionsHandler, maximumFrameBytes: Int, metrics: RequestMetricsTable,
        sasl: [String: SaslListener] = [:], tls: [String: TlsListener] = [:], fileReads: NIOThreadPool? = nil,
        logger: Logger
    ) async throws -> KafkaServer {
        var channels = [any Channel]()
        for listener in listeners {
            let saslListener = sasl[listener.name]
            let tlsListener = tls[listener.name]
            let host = listener.host.isEmpty ? "0.0.0.0" : listener.host
            let channel = try await ConfigurationError.namingListener(
                key: "listeners", listener.name, host: host, port: listener.port
            ) {
                try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 256)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelOption(.maxMessagesPerRead, value: 16)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if let tlsListener {
                                try channel.pipeline.syncOperations.addHandler(
                                    NIOSSLServerHandler(context: tlsListener.context))
                            }
                            // A SASL connection's frames stay small until it has authenticated.
                            let unauthenticatedLimit = saslListener.map {
                                NIOLoopBoundBox<Int?>($0.maximumReceiveBytes, eventLoop: channel.eventLoop)
                            }
                            try channel.pipeline.syncOperations.addHandler(
                                ByteToMessageHandler(
                                    KafkaFrameDecoder.requests(
                                        maximumFrameBytes: maximumFrameBytes,
                                        unauthenticatedLimit: unauthenticatedLimit))
                            )
                            try channel.pipeline.syncOperations.addHandler(
                                KafkaConnectionHandler(
                                    registry: registry, apiVersions: apiVersions, metrics: metrics,
                                    sasl: saslListener, unauthenticatedLimit: unauthenticatedLimit,
                                    tls: tlsListener.map { ($0, fileReads) }, listenerName: listener.name,
                                    logger: logger)
                            )
                        }
                    }
                    .bind(host: host, port: listener.port)
                    .get()
            }
            logger.info(
                "listening",
                metadata: ["listener": "\(listener.name)", "address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            channels.append(channel)
        }
        return KafkaServer(channels: channels, logger: logger)
    }

    /// Stops accepting and closes the listening sockets.
    func close() async {
        for channel in channels {
            try? await channel.close()
        }
    }
}
