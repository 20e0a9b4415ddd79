/// SASL/PLAIN (RFC 4616) as Kafka's `PlainSaslServer`: one message `[authzid] NUL authcid NUL passwd`, checked
/// against the users of the listener's JAAS configuration (`user_<name>="<password>"`).
public struct PlainServerExchange: SaslServerExchange {
    public let mechanism = SaslMechanism.plain
    private let passwords: [String: String]
    private var done = false

    public init(passwords: [String: String]) {
        self.passwords = passwords
    }

    public mutating func evaluate(_ token: [UInt8]) -> SaslStep {
        guard !done else { return .failed(SaslAuthenticationFailure("Authentication failed: PLAIN has one step")) }
        done = true
        let parts = token.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard parts.count == 3 else {
            return .failed(
                SaslAuthenticationFailure("Invalid SASL/PLAIN response: expected 3 tokens, got \(parts.count)"))
        }
        let (authorizationID, user, password) = (parts[0], parts[1], parts[2])
        guard !user.isEmpty else {
            return .failed(SaslAuthenticationFailure("Authentication failed: username not specified"))
        }
        guard !password.isEmpty else {
            return .failed(SaslAuthenticationFailure("Authentication failed: password not specified"))
        }
        guard let expected = passwords[user], constantTimeEquals(Array(expected.utf8), Array(password.utf8)) else {
            return .failed(SaslAuthenticationFailure("Authentication failed: Invalid username or password"))
        }
        guard authorizationID.isEmpty || authorizationID == user else {
            return .failed(
                SaslAuthenticationFailure(
                    "Authentication failed: Client requested an authorization id that is different from username"))
        }
        return .succeeded(user: user, finalToken: [])
    }
}
