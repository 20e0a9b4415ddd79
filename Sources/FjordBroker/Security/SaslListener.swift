import FjordSecurity
import Glibc

/// How one SASL_PLAINTEXT listener authenticates its connections: the mechanisms it offers
/// (`listener.name.NAME.sasl.enabled.mechanisms`, else `sasl.enabled.mechanisms`), PLAIN's users (the
/// `user_<name>` options of `listener.name.NAME.plain.sasl.jaas.config`), OAUTHBEARER's token validator (the
/// unsecured JWT validator with the options of `listener.name.NAME.oauthbearer.sasl.jaas.config`), SCRAM's credentials (the metadata image's
/// UserScramCredentialRecords), how long an authentication holds (`connections.max.reauth.ms`, KIP-368) and how long
/// a failed one waits before its answer (`connection.failed.authentication.delay.ms`).
struct SaslListener: Sendable {
    var mechanisms: [SaslMechanism]
    var plainUsers: [String: String]
    /// OAUTHBEARER's token validator (the unsecured JWT one of the listener's JAAS options), when enabled.
    var oauthBearerValidator: (any OAuthBearerTokenValidator)?
    var scramCredential: @Sendable (ScramMechanism, String) -> ScramCredential?
    /// 0: an authentication never expires.
    var reauthenticationMs: Int64
    var failedAuthenticationDelayMs: Int64
    /// The largest frame taken before the client has authenticated. Kafka: `sasl.server.max.receive.size`, 512 KiB.
    var maximumReceiveBytes = 524_288

    /// A new exchange of `mechanism` (one of `mechanisms`).
    func exchange(_ mechanism: SaslMechanism) -> any SaslServerExchange {
        switch mechanism {
        case .plain:
            return PlainServerExchange(passwords: plainUsers)
        case .oauthBearer:
            return OAuthBearerServerExchange(
                validator: oauthBearerValidator ?? UnsecuredJwtValidator(now: { Self.wallClockMs() }))
        case .scramSHA256, .scramSHA512:
            let scram = mechanism.scram!
            let lookup = scramCredential
            return ScramServerExchange(mechanism: scram, serverNonce: ScramMechanism.randomNonce()) {
                lookup(scram, $0)
            }
        }
    }

    /// Milliseconds since the epoch: what a token's `exp` is compared with.
    static func wallClockMs() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
