// GetTelemetrySubscriptions v0 (KIP-714), as Kafka answers with no client-metrics resources configured: the
// client gets an instance id (a new one when it sends the zero id), the accepted compression types, the default
// push interval and size limit, and an empty list of requested metrics, so it never pushes metrics. Serving it
// also spares librdkafka (2.5+) a one-second wait in rd_kafka_destroy() for a telemetry broker it never finds.
import KafkaProtocol
import NIOCore

struct GetTelemetrySubscriptionsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0

    /// The one subscription of a broker without client-metrics resources (Kafka derives it from the metric set,
    /// which is empty for every client).
    static let emptySubscriptionID: Int32 = 0x4650_4A44
    /// Kafka's defaults (`ClientMetricsConfigs`): 5 minutes between pushes, 1 MiB per push.
    static let pushIntervalMs: Int32 = 300_000
    static let telemetryMaxBytes: Int32 = 1_048_576

    func handle(_ request: GetTelemetrySubscriptionsRequest, context: RequestContext) -> EventLoopFuture<
        GetTelemetrySubscriptionsResponse
    > {
        let instanceID = request.clientInstanceID == .zero ? KafkaUUID.random() : request.clientInstanceID
        let response = GetTelemetrySubscriptionsResponse(
            errorCode: 0, clientInstanceID: instanceID, subscriptionID: Self.emptySubscriptionID,
            acceptedCompressionTypes: [4, 3, 1, 2],  // zstd, lz4, gzip, snappy: Kafka's order of preference
            pushIntervalMs: Self.pushIntervalMs, telemetryMaxBytes: Self.telemetryMaxBytes, deltaTemporality: true,
            requestedMetrics: []
        )
        return context.eventLoop.makeSucceededFuture(response)
    }
}
