import FjordSecurity
import KafkaProtocol

/// The SASL side of one connection on a SASL listener, as Kafka's `SaslServerAuthenticator`: what a request may do
/// before, during and after authentication. Owned by its connection's handler, on its event loop.
///
/// - Before authenticating, a client may send ApiVersions and SaslHandshake only; anything else closes the
///   connection. SaslHandshake names a mechanism: an enabled one starts an exchange, any other is answered
///   UNSUPPORTED_SASL_MECHANISM with the enabled list, and the connection closes.
/// - SaslHandshake v1 is followed by SaslAuthenticate requests carrying the tokens; v0 by raw tokens, each a frame
///   without a request header, answered by a frame of the server's token (`expectsRawToken`).
/// - A failed exchange is answered SASL_AUTHENTICATION_FAILED with the reason (raw tokens: no answer), then the
///   connection closes.
/// - Once authenticated every request is served as `principal`. With `connections.max.reauth.ms` set, the answer
///   tells the client the session's lifetime; it re-authenticates with SaslHandshake + SaslAuthenticate on the same
///   connection (same mechanism, same principal), and a request after the session expired closes the connection.
struct SaslAuthenticator {
    enum Phase {
        case awaitingHandshake
        case exchanging(any SaslServerExchange, rawTokens: Bool)
        case authenticated
    }

    /// What the connection does with a request.
    enum Admission: Equatable {
        case serve
        /// SaslHandshake or SaslAuthenticate: answered here (`handshake`, `authenticate`).
        case authenticate
        case close(reason: String)
    }

    let listener: SaslListener
    private(set) var phase = Phase.awaitingHandshake
    private(set) var principal: KafkaPrincipal?
    private var mechanism: SaslMechanism?
    private var sessionExpiresAtMs: Int64?
    /// True between a re-authentication's SaslHandshake and its end: other requests wait for their turn as usual.
    private var reauthenticating = false

    init(listener: SaslListener) {
        self.listener = listener
    }

    /// The next frame is a raw SASL token (after SaslHandshake v0), not a request.
    var expectsRawToken: Bool {
        if case .exchanging(_, rawTokens: true) = phase { return true }
        return false
    }

    func admission(of apiKey: ApiKey, nowMs: Int64) -> Admission {
        switch phase {
        case .awaitingHandshake:
            if apiKey == .apiVersions { return .serve }
            if apiKey == .saslHandshake { return .authenticate }
            return .close(reason: "unexpected \(apiKey) request before SASL authentication")
        case .exchanging:
            if apiKey == .saslAuthenticate { return .authenticate }
            if reauthenticating, apiKey != .saslHandshake { return .serve }
            return .close(reason: "unexpected \(apiKey) request during SASL authentication")
        case .authenticated:
            if apiKey == .saslHandshake { return .authenticate }
            if let expires = sessionExpiresAtMs, nowMs > expires {
                return .close(reason: "the SASL session expired (connections.max.reauth.ms) without re-authentication")
            }
            return apiKey == .saslAuthenticate ? .authenticate : .serve
        }
    }

    /// Answers SaslHandshake; `close` when the connection must close after the answer.
    mutating func handshake(_ request: SaslHandshakeRequest, version: Int16) -> (SaslHandshakeResponse, close: Bool) {
        let enabled = listener.mechanisms.map(\.rawValue)
        switch phase {
        case .exchanging:
            return (SaslHandshakeResponse(errorCode: ErrorCode.illegalSaslState.rawValue, mechanisms: enabled), true)
        case .authenticated:
            // KIP-368: re-authentication keeps the mechanism and needs SaslAuthenticate (handshake v1).
            guard listener.reauthenticationMs > 0, version >= 1, let mechanism,
                request.mechanism == mechanism.rawValue
            else {
                return (
                    SaslHandshakeResponse(errorCode: ErrorCode.illegalSaslState.rawValue, mechanisms: enabled), true
                )
            }
            reauthenticating = true
            phase = .exchanging(listener.exchange(mechanism), rawTokens: false)
            return (SaslHandshakeResponse(errorCode: 0, mechanisms: enabled), false)
        case .awaitingHandshake:
            guard let chosen = SaslMechanism(rawValue: request.mechanism), listener.mechanisms.contains(chosen) else {
                return (
                    SaslHandshakeResponse(errorCode: ErrorCode.unsupportedSaslMechanism.rawValue, mechanisms: enabled),
                    true
                )
            }
            mechanism = chosen
            phase = .exchanging(listener.exchange(chosen), rawTokens: version == 0)
            return (SaslHandshakeResponse(errorCode: 0, mechanisms: enabled), false)
        }
    }

    /// The outcome of one token.
    struct TokenOutcome {
        var errorCode: ErrorCode = .none
        var errorMessage: String?
        var token: [UInt8] = []
        var sessionLifetimeMs: Int64 = 0
        /// The exchange failed: answer after `connection.failed.authentication.delay.ms`, then close.
        var failed: Bool { errorCode != .none }
        /// Authenticated by this token.
        var authenticated = false
    }

    /// Feeds one client token (a SaslAuthenticate's bytes or a raw frame) to the exchange.
    mutating func authenticate(_ token: [UInt8], nowMs: Int64) -> TokenOutcome {
        guard case .exchanging(var exchange, _) = phase else {
            let message =
                principal == nil
                ? "SaslAuthenticate request received before SaslHandshake"
                : "SaslAuthenticate request received after successful authentication"
            return TokenOutcome(errorCode: .illegalSaslState, errorMessage: message)
        }
        let step = exchange.evaluate(token)
        switch step {
        case .challenge(let challenge):
            phase = .exchanging(exchange, rawTokens: expectsRawToken)
            return TokenOutcome(token: challenge)
        case .failed(let failure):
            phase = .awaitingHandshake
            return TokenOutcome(errorCode: .saslAuthenticationFailed, errorMessage: failure.message)
        case .succeeded(let user, let finalToken, let credentialLifetimeMs):
            let authenticated = KafkaPrincipal.user(user)
            if reauthenticating, let principal, principal != authenticated {
                phase = .awaitingHandshake
                return TokenOutcome(
                    errorCode: .saslAuthenticationFailed,
                    errorMessage: "Cannot change principals during re-authentication from \(principal): "
                        + "\(authenticated)")
            }
            principal = authenticated
            phase = .authenticated
            reauthenticating = false
            var outcome = TokenOutcome(token: finalToken, authenticated: true)
            if listener.reauthenticationMs > 0 {
                // The session ends with connections.max.reauth.ms or with the credential (a token's expiry),
                // whichever comes first.
                let lifetime = min(listener.reauthenticationMs, credentialLifetimeMs ?? Int64.max)
                sessionExpiresAtMs = nowMs + lifetime
                outcome.sessionLifetimeMs = lifetime
            }
            return outcome
        }
    }
}
