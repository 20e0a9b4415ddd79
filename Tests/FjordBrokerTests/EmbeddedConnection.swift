import KafkaProtocol
import Logging
import NIOCore
import NIOEmbedded

@testable import FjordBroker

/// The broker's connection pipeline on an `EmbeddedChannel`, as `KafkaServer` builds it for a client: frame decoder,
/// then connection handler over `registry` (ApiVersions is added, derived from the rest).
enum EmbeddedConnection {
    /// `head`: handlers placed before the decoder (e.g. one that observes what reaches the socket).
    static func make(registry: APIRegistry, head: [any ChannelHandler & Sendable] = []) throws -> EmbeddedChannel {
        var registry = registry
        let apiVersions = ApiVersionsHandler(registry: registry)
        registry.register(apiVersions)
        let channel = EmbeddedChannel()
        for handler in head { try channel.pipeline.syncOperations.addHandler(handler) }
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(KafkaFrameDecoder.requests(maximumFrameBytes: 1 << 20)))
        try channel.pipeline.syncOperations.addHandler(
            KafkaConnectionHandler(
                registry: registry, apiVersions: apiVersions,
                metrics: BrokerMetrics().requestMetrics(for: registry.supportedVersions.map(\.apiKey)),
                logger: Logger(label: "test")
            )
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }
}
