import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP listener of `metrics.listener`: `/metrics` and `/health` (`MetricsHTTPHandler`), on the broker's event
/// loops, apart from the Kafka listeners so scrapes and probes never share a port or a pipeline with clients.
final class MetricsServer: Sendable {
    /// Request line and headers beyond these close the connection with 400 (NIO's decoder limits).
    static let decoderLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 8 * 1024
        limits.maxHeaderListSize = 16 * 1024
        limits.maxHeaderFieldCount = 64
        return limits
    }()
    /// A connection that sends no request for this long is closed.
    static let idleTimeout = TimeAmount.seconds(60)

    private let channel: any Channel

    /// The address actually bound (port 0 becomes a real port).
    var localAddress: SocketAddress? { channel.localAddress }

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func bind(
        _ listener: Listener, group: any EventLoopGroup, routes: MetricsHTTPHandler.Routes, logger: Logger
    ) async throws -> MetricsServer {
        let host = listener.host.isEmpty ? "0.0.0.0" : listener.host
        let channel = try await ConfigurationError.namingListener(
            key: "metrics.listener", "metrics", host: host, port: listener.port
        ) {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline(withDecoderLimitConfiguration: decoderLimits)
                        .flatMapThrowing {
                            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                            try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(routes: routes))
                        }
                }
                .bind(host: host, port: listener.port)
                .get()
        }
        let address = channel.localAddress
        logger.info(
            "metrics listening",
            metadata: [
                "address": "\(address.map { "\($0)" } ?? "?")", "port": "\(address?.port ?? listener.port)",
            ])
        return MetricsServer(channel: channel)
    }

    /// Stops accepting and closes the listening socket (open scrape connections end with the event loops).
    func close() async {
        try? await channel.close()
    }
}
