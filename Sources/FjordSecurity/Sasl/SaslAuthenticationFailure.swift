/// Why an authentication failed, as the client is told in SaslAuthenticate's error message (the error code is
/// SASL_AUTHENTICATION_FAILED); the connection closes after it.
public struct SaslAuthenticationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
