/// SASL/OAUTHBEARER (RFC 7628) as Kafka's `OAuthBearerSaslServer`: one client message
///
///     n,[a=authzid],<0x01>auth=Bearer <token><0x01>[key=value<0x01>...]<0x01>
///
/// whose token a validator checks (Kafka's default: unsecured JWTs for development, `UnsecuredJwtValidator`; a
/// signed-token validator plugs in through `OAuthBearerTokenValidator`). A refused token is answered, as the RFC
/// says, with a JSON error challenge (`{"status":"invalid_token"}`); the client acknowledges it with a lone 0x01 and
/// the exchange fails with the validator's reason. The token's expiry bounds the session (KIP-368).
public struct OAuthBearerServerExchange: SaslServerExchange {
    public let mechanism = SaslMechanism.oauthBearer
    private let validator: any OAuthBearerTokenValidator
    private var pendingFailure: String?
    private var done = false

    public init(validator: any OAuthBearerTokenValidator) {
        self.validator = validator
    }

    public mutating func evaluate(_ token: [UInt8]) -> SaslStep {
        if let failure = pendingFailure {
            // The client's answer to the error challenge: whatever it is, the exchange is over.
            pendingFailure = nil
            done = true
            return .failed(SaslAuthenticationFailure("Authentication failed: \(failure)"))
        }
        guard !done else { return .failed(SaslAuthenticationFailure("Authentication failed: the exchange is over")) }
        done = true
        let message = String(decoding: token, as: UTF8.self)
        let parts = message.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts.last == "", parts[parts.count - 2] == "" else {
            return .failed(SaslAuthenticationFailure("Invalid OAUTHBEARER client first message"))
        }
        let gs2 = parts[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard gs2.count == 3, gs2[0] == "n" || gs2[0] == "y", gs2[1].isEmpty || gs2[1].hasPrefix("a="), gs2[2].isEmpty
        else {
            return .failed(SaslAuthenticationFailure("Invalid OAUTHBEARER client first message"))
        }
        var bearer: String?
        for pair in parts[1..<(parts.count - 2)] where pair.hasPrefix("auth=") {
            let value = pair.dropFirst("auth=".count)
            guard value.lowercased().hasPrefix("bearer ") else { continue }
            bearer = value.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        }
        guard let bearer, !bearer.isEmpty else {
            return .failed(SaslAuthenticationFailure("Invalid OAUTHBEARER client first message: no bearer token"))
        }
        switch validator.validate(bearer) {
        case .failure(let failure):
            done = false
            pendingFailure = failure.reason
            return .challenge(Array(failure.challengeJSON.utf8))
        case .success(let token):
            if gs2[1].hasPrefix("a="), String(gs2[1].dropFirst(2)) != token.principal {
                return .failed(
                    SaslAuthenticationFailure(
                        "Authentication failed: Authorization ID (\(gs2[1].dropFirst(2))) does not match the token's "
                            + "principal (\(token.principal))"))
            }
            return .succeeded(user: token.principal, finalToken: [], lifetimeMs: token.lifetimeMs)
        }
    }
}
