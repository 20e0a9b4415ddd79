/// What the server side of a SASL exchange does with one token from the client.
public enum SaslStep: Sendable, Equatable {
    /// Not done yet: send this challenge and wait for the next token.
    case challenge([UInt8])
    /// Authenticated as `user` (the authorization id, which becomes the principal `User:<user>`); `finalToken` is
    /// the last server message (SCRAM's server-final with the server signature; empty for PLAIN and OAUTHBEARER);
    /// `lifetimeMs`, how long the credential itself still holds (an OAuth token's `exp`), bounds the session
    /// (KIP-368).
    case succeeded(user: String, finalToken: [UInt8], lifetimeMs: Int64? = nil)
    /// Refused: the client is told why and the connection closes.
    case failed(SaslAuthenticationFailure)
}

/// One authentication's server side: fed the client's tokens in order until it succeeds or fails.
public protocol SaslServerExchange: Sendable {
    var mechanism: SaslMechanism { get }
    mutating func evaluate(_ token: [UInt8]) -> SaslStep
}

/// Equal bytes, in a time that does not depend on where they first differ.
func constantTimeEquals(_ left: [UInt8], _ right: [UInt8]) -> Bool {
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
}
