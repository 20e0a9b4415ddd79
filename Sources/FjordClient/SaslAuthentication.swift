import FjordSecurity

/// A client's SASL login (`ClientConfiguration.sasl`): the mechanism and what it proves identity with. Every
/// connection authenticates when it opens — SaslHandshake, then SaslAuthenticate until the exchange is done — and
/// one whose session the broker bounds (KIP-368's session lifetime) is replaced by a fresh, re-authenticated
/// connection before that lifetime runs out.
public struct SaslAuthentication: Sendable, Equatable {
    public var mechanism: SaslMechanism
    public var credentials: SaslClientExchange.Credentials

    public init(mechanism: SaslMechanism, credentials: SaslClientExchange.Credentials) {
        self.mechanism = mechanism
        self.credentials = credentials
    }

    /// PLAIN or SCRAM-SHA-256/512 with a user and password.
    public static func password(_ mechanism: SaslMechanism, user: String, password: String) -> SaslAuthentication {
        SaslAuthentication(mechanism: mechanism, credentials: .password(user: user, password: password))
    }

    /// OAUTHBEARER with a bearer token.
    public static func oauthBearer(token: String) -> SaslAuthentication {
        SaslAuthentication(mechanism: .oauthBearer, credentials: .token(token))
    }
}
