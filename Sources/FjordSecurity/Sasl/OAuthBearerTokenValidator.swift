import Foundation

/// A token accepted by a validator: whose it is, until when (ms since the epoch), and how long that is from the
/// validator's now.
public struct OAuthBearerToken: Sendable, Equatable {
    public var principal: String
    public var expiresAtMs: Int64
    public var lifetimeMs: Int64
    public var scope: [String]

    public init(principal: String, expiresAtMs: Int64, lifetimeMs: Int64, scope: [String] = []) {
        self.principal = principal
        self.expiresAtMs = expiresAtMs
        self.lifetimeMs = lifetimeMs
        self.scope = scope
    }
}

/// Why a token was refused: the reason the client is finally told, and the RFC 7628 error challenge.
public struct OAuthBearerValidationFailure: Error, Sendable, Equatable {
    public var reason: String
    /// `invalid_token` or `insufficient_scope`.
    public var status: String

    public init(_ reason: String, status: String = "invalid_token") {
        self.reason = reason
        self.status = status
    }

    var challengeJSON: String { "{\"status\":\"\(status)\"}" }
}

/// The seam for validating OAuth bearer tokens: Kafka's default is `UnsecuredJwtValidator`; a deployment with an
/// identity provider checks signed JWTs (JWKS) behind this protocol.
public protocol OAuthBearerTokenValidator: Sendable {
    func validate(_ token: String) -> Result<OAuthBearerToken, OAuthBearerValidationFailure>
}

/// Kafka's `OAuthBearerUnsecuredValidatorCallbackHandler`: accepts a JWT whose header says `"alg":"none"` and
/// whose signature is empty — for development only — when its principal claim is a non-empty string, its `exp`
/// (seconds since the epoch, required) is not past, its `iat` (optional) is not in the future (both within the
/// allowed clock skew), and its scope holds every required scope. Options as Kafka's JAAS options:
/// `unsecuredValidatorPrincipalClaimName` (default `sub`), `unsecuredValidatorScopeClaimName` (`scope`),
/// `unsecuredValidatorRequiredScope` (space or comma separated), `unsecuredValidatorAllowableClockSkewMs` (0).
public struct UnsecuredJwtValidator: OAuthBearerTokenValidator {
    public var principalClaim = "sub"
    public var scopeClaim = "scope"
    public var requiredScope: [String] = []
    public var allowableClockSkewMs: Int64 = 0
    /// The time to judge `exp` and `iat` by (ms since the epoch): the broker passes the wall clock.
    public var now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    /// The options of a `...OAuthBearerLoginModule required ...;` JAAS configuration.
    public init(options: [String: String], now: @escaping @Sendable () -> Int64) throws(JaasConfigurationError) {
        self.init(now: now)
        if let claim = options["unsecuredValidatorPrincipalClaimName"], !claim.isEmpty { principalClaim = claim }
        if let claim = options["unsecuredValidatorScopeClaimName"], !claim.isEmpty { scopeClaim = claim }
        requiredScope = (options["unsecuredValidatorRequiredScope"] ?? "").split(whereSeparator: {
            $0 == " " || $0 == ","
        })
        .map(String.init)
        if let skew = options["unsecuredValidatorAllowableClockSkewMs"] {
            guard let value = Int64(skew), value >= 0 else {
                throw JaasConfigurationError("unsecuredValidatorAllowableClockSkewMs must be a non-negative integer")
            }
            allowableClockSkewMs = value
        }
    }

    public func validate(_ token: String) -> Result<OAuthBearerToken, OAuthBearerValidationFailure> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].isEmpty,
            let header = Self.json(String(parts[0])), let claims = Self.json(String(parts[1]))
        else {
            return .failure(OAuthBearerValidationFailure("the token is not an unsecured JWT (header.claims.)"))
        }
        guard (header["alg"] as? String) == "none" else {
            return .failure(OAuthBearerValidationFailure("an unsecured JWT must say \"alg\":\"none\""))
        }
        guard let principal = claims[principalClaim] as? String, !principal.isEmpty else {
            return .failure(OAuthBearerValidationFailure("the token has no '\(principalClaim)' claim"))
        }
        guard let exp = (claims["exp"] as? NSNumber)?.doubleValue else {
            return .failure(OAuthBearerValidationFailure("the token has no 'exp' claim"))
        }
        let nowMs = now()
        let expiresAtMs = Int64(exp * 1000)
        guard nowMs < expiresAtMs + allowableClockSkewMs else {
            return .failure(OAuthBearerValidationFailure("the token expired"))
        }
        if let iat = (claims["iat"] as? NSNumber)?.doubleValue, Int64(iat * 1000) > nowMs + allowableClockSkewMs {
            return .failure(OAuthBearerValidationFailure("the token was issued in the future"))
        }
        let scope: [String]
        switch claims[scopeClaim] {
        case let text as String: scope = text.split(separator: " ").map(String.init)
        case let list as [String]: scope = list
        default: scope = []
        }
        if let missing = requiredScope.first(where: { !scope.contains($0) }) {
            return .failure(
                OAuthBearerValidationFailure("the token's scope lacks '\(missing)'", status: "insufficient_scope"))
        }
        return .success(
            OAuthBearerToken(
                principal: principal, expiresAtMs: expiresAtMs, lifetimeMs: max(expiresAtMs - nowMs, 0), scope: scope))
    }

    /// A base64url JSON object, padding optional.
    static func json(_ part: String) -> [String: Any]? {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
