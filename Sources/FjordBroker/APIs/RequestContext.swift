import FjordSecurity
import KafkaProtocol
import NIOCore

/// What a handler knows about the request besides its body.
public struct RequestContext: Sendable {
    public var header: RequestHeader
    public var apiVersion: Int16 { header.requestApiVersion }
    /// The peer's address, for log lines.
    public var peer: String
    public var eventLoop: any EventLoop
    /// Who sent it: `User:<name>` on a connection that authenticated with SASL, `User:ANONYMOUS` on one that did
    /// not (a PLAINTEXT listener).
    public var principal: KafkaPrincipal = .anonymous
    /// The client's IP address, as ACLs name hosts (`*` when unknown).
    public var clientHost: String = "*"
    /// The listener the request came in on: brokers are listed to the client at their endpoint of that listener,
    /// as Kafka answers (nil in tests that build a context by hand: the default client listener).
    public var listenerName: String?
    /// Set by a handler whose client is over its quota: the connection pauses reading once the answer is out.
    var throttle: ConnectionThrottle?
}
