// SaslAuthenticate v0-v2 outside an authentication: on a SASL listener the connection's `SaslAuthenticator`
// answers every one; here (a PLAINTEXT listener) it is ILLEGAL_SASL_STATE with Kafka's message.
import KafkaProtocol
import NIOCore

struct SaslAuthenticateHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...2

    func handle(_ request: SaslAuthenticateRequest, context: RequestContext) -> EventLoopFuture<
        SaslAuthenticateResponse
    > {
        context.eventLoop.makeSucceededFuture(
            SaslAuthenticateResponse(
                errorCode: ErrorCode.illegalSaslState.rawValue,
                errorMessage: "SaslAuthenticate request received after successful authentication"))
    }
}
