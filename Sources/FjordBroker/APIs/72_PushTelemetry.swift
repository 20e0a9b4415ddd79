// PushTelemetry v0 (KIP-714): accepted for the current subscription and dropped, since no client-metrics
// resource asks for any metric; a stale subscription id gets UNKNOWN_SUBSCRIPTION_ID (the client then asks
// for its subscription again), and a push larger than the advertised limit TELEMETRY_TOO_LARGE.
import KafkaProtocol
import NIOCore

struct PushTelemetryHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0

    func handle(_ request: PushTelemetryRequest, context: RequestContext) -> EventLoopFuture<PushTelemetryResponse> {
        var error = ErrorCode.none
        if request.subscriptionID != GetTelemetrySubscriptionsHandler.emptySubscriptionID {
            error = .unknownSubscriptionID
        } else if request.metrics.readableBytes > Int(GetTelemetrySubscriptionsHandler.telemetryMaxBytes) {
            error = .telemetryTooLarge
        }
        return context.eventLoop.makeSucceededFuture(PushTelemetryResponse(errorCode: error.rawValue))
    }
}
