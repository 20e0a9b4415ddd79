import FjordSecurity
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// One connection's SASL states, as Kafka's `SaslServerAuthenticator` walks them.
@Suite struct SaslAuthenticatorTests {
    func listener(reauthenticationMs: Int64 = 0) -> SaslListener {
        SaslListener(
            mechanisms: [.plain, .scramSHA256], plainUsers: ["alice": "alice-secret", "bob": "bob-secret"],
            scramCredential: { _, _ in nil }, reauthenticationMs: reauthenticationMs, failedAuthenticationDelayMs: 0)
    }

    func token(_ user: String, _ password: String) -> [UInt8] { Array("\0\(user)\0\(password)".utf8) }

    @Test func beforeAuthenticationOnlyApiVersionsAndTheHandshakePass() {
        var authenticator = SaslAuthenticator(listener: listener())
        #expect(authenticator.admission(of: .apiVersions, nowMs: 0) == .serve)
        #expect(authenticator.admission(of: .saslHandshake, nowMs: 0) == .authenticate)
        guard case .close = authenticator.admission(of: .metadata, nowMs: 0) else {
            Issue.record("Metadata admitted before authentication")
            return
        }
        let (response, close) = authenticator.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        #expect(response.errorCode == 0 && !close && response.mechanisms == ["PLAIN", "SCRAM-SHA-256"])
        // Between the handshake and the end of the exchange: SaslAuthenticate only.
        guard case .close = authenticator.admission(of: .produce, nowMs: 0) else {
            Issue.record("Produce admitted during the exchange")
            return
        }
        let outcome = authenticator.authenticate(token("alice", "alice-secret"), nowMs: 0)
        #expect(outcome.authenticated && !outcome.failed && outcome.sessionLifetimeMs == 0)
        #expect(authenticator.principal == .user("alice"))
        #expect(authenticator.admission(of: .produce, nowMs: 10_000_000) == .serve)
        // Without connections.max.reauth.ms there is no re-authentication: a second handshake is illegal.
        let (again, closeAgain) = authenticator.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        #expect(again.errorCode == ErrorCode.illegalSaslState.rawValue && closeAgain)
    }

    @Test func anUnknownMechanismIsRefusedWithTheEnabledList() {
        var authenticator = SaslAuthenticator(listener: listener())
        let (response, close) = authenticator.handshake(SaslHandshakeRequest(mechanism: "GSSAPI"), version: 1)
        #expect(response.errorCode == ErrorCode.unsupportedSaslMechanism.rawValue && close)
        #expect(response.mechanisms == ["PLAIN", "SCRAM-SHA-256"])
        let disabled = authenticator.handshake(SaslHandshakeRequest(mechanism: "SCRAM-SHA-512"), version: 1)
        #expect(disabled.0.errorCode == ErrorCode.unsupportedSaslMechanism.rawValue)
    }

    @Test func handshakeV0MeansRawTokens() {
        var authenticator = SaslAuthenticator(listener: listener())
        _ = authenticator.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 0)
        #expect(authenticator.expectsRawToken)
        let outcome = authenticator.authenticate(token("bob", "bob-secret"), nowMs: 0)
        #expect(outcome.authenticated && !authenticator.expectsRawToken)
    }

    @Test func aFailedExchangeIsReportedWithItsReason() {
        var authenticator = SaslAuthenticator(listener: listener())
        _ = authenticator.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        let outcome = authenticator.authenticate(token("alice", "wrong"), nowMs: 0)
        #expect(outcome.errorCode == .saslAuthenticationFailed)
        #expect(outcome.errorMessage == "Authentication failed: Invalid username or password")
        #expect(authenticator.principal == nil)
    }

    /// KIP-368: the session lasts connections.max.reauth.ms; re-authenticating renews it, with the same mechanism
    /// and the same principal; a request after it expired closes the connection.
    @Test func reAuthenticationRenewsTheSessionForTheSamePrincipalOnly() {
        var authenticator = SaslAuthenticator(listener: listener(reauthenticationMs: 1000))
        _ = authenticator.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        #expect(authenticator.authenticate(token("alice", "alice-secret"), nowMs: 0).sessionLifetimeMs == 1000)
        #expect(authenticator.admission(of: .fetch, nowMs: 1000) == .serve)
        // Re-authentication at 900 ms: requests keep flowing meanwhile; the session then lasts until 1,900 ms.
        #expect(authenticator.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1).0.errorCode == 0)
        #expect(authenticator.admission(of: .fetch, nowMs: 950) == .serve)
        #expect(authenticator.authenticate(token("alice", "alice-secret"), nowMs: 900).authenticated)
        #expect(authenticator.admission(of: .fetch, nowMs: 1800) == .serve)
        guard case .close = authenticator.admission(of: .fetch, nowMs: 1901) else {
            Issue.record("a request after the session expired was served")
            return
        }
        // Another mechanism, or another user, is refused.
        var other = SaslAuthenticator(listener: listener(reauthenticationMs: 1000))
        _ = other.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        _ = other.authenticate(token("alice", "alice-secret"), nowMs: 0)
        #expect(
            other.handshake(SaslHandshakeRequest(mechanism: "SCRAM-SHA-256"), version: 1).0.errorCode
                == ErrorCode.illegalSaslState.rawValue)
        var switching = SaslAuthenticator(listener: listener(reauthenticationMs: 1000))
        _ = switching.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        _ = switching.authenticate(token("alice", "alice-secret"), nowMs: 0)
        _ = switching.handshake(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        let outcome = switching.authenticate(token("bob", "bob-secret"), nowMs: 10)
        #expect(outcome.errorCode == .saslAuthenticationFailed)
        #expect(outcome.errorMessage?.hasPrefix("Cannot change principals during re-authentication") == true)
    }
}
