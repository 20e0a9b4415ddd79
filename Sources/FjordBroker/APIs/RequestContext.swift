import KafkaProtocol
import NIOCore

/// What a handler knows about the request besides its body.
public struct RequestContext: Sendable {
    public var header: RequestHeader
    public var apiVersion: Int16 { header.requestApiVersion }
    /// The peer's address, for log lines.
    public var peer: String
    public var eventLoop: any EventLoop
}
