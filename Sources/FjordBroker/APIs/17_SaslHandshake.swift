// SaslHandshake v0-v1 outside an authentication. On a SASL listener the connection's `SaslAuthenticator` answers
// it before this handler is reached (and again for a KIP-368 re-authentication); what arrives here came on a
// PLAINTEXT listener, where, as in Kafka, there is nothing to authenticate: ILLEGAL_SASL_STATE, no mechanisms.
import KafkaProtocol
import NIOCore

struct SaslHandshakeHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1

    func handle(_ request: SaslHandshakeRequest, context: RequestContext) -> EventLoopFuture<SaslHandshakeResponse> {
        context.eventLoop.makeSucceededFuture(
            SaslHandshakeResponse(errorCode: ErrorCode.illegalSaslState.rawValue, mechanisms: []))
    }
}
