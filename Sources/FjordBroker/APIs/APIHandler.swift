import KafkaProtocol
import NIOCore

/// Serves one Kafka API. Each `APIs/NN_Name.swift` file defines one and registers it in `APIRegistry`.
///
/// Handlers answer on the connection's event loop; a handler whose work must wait (a long-polling fetch,
/// an `acks=all` produce, a metadata change that is fsynced) completes the future later, without blocking the loop.
public protocol APIHandler: Sendable {
    associatedtype Request: KafkaRequest
    /// The versions served; ApiVersions advertises exactly these.
    var versions: ClosedRange<Int16> { get }
    /// The encoded answer, or nil for none (Produce with `acks=0`).
    func respond(to request: Request, context: RequestContext) -> EventLoopFuture<ResponseBody?>
}

/// A handler whose answer is one response value, encoded at the request's version. Most APIs are; Fetch (file
/// slices sent with sendfile) and Produce (no answer at `acks=0`) write their answer themselves.
public protocol TypedAPIHandler: APIHandler {
    // Restated so that a handler's `Request` is inferred from its `handle`.
    associatedtype Request
    func handle(_ request: Request, context: RequestContext) -> EventLoopFuture<Request.Response>
}

extension TypedAPIHandler {
    public func respond(to request: Request, context: RequestContext) -> EventLoopFuture<ResponseBody?> {
        handle(request, context: context).map { response in
            var buffer = ByteBuffer()
            response.write(to: &buffer, version: context.apiVersion)
            return ResponseBody(buffer)
        }
    }
}

/// A registered handler with its types erased: decodes the body, runs the handler, encodes the response body.
struct AnyAPIHandler: Sendable {
    let apiKey: ApiKey
    let versions: ClosedRange<Int16>
    private let respond: @Sendable (inout ByteBuffer, RequestContext) throws(DecodeError) -> EventLoopFuture<ResponseBody?>

    init<Handler: APIHandler>(_ handler: Handler) {
        precondition(
            Handler.Request.validVersions.contains(handler.versions.lowerBound)
                && Handler.Request.validVersions.contains(handler.versions.upperBound),
            "\(Handler.self) serves versions the \(Handler.Request.self) spec does not define"
        )
        apiKey = Handler.Request.apiKey
        versions = handler.versions
        respond = { (body: inout ByteBuffer, context: RequestContext) throws(DecodeError) -> EventLoopFuture<ResponseBody?> in
            // Bytes after the body are ignored, as Kafka's request parser does: librdkafka 2.16, for one,
            // appends three bytes to its Metadata v12 request for all topics.
            let request = try Handler.Request(from: &body, version: context.apiVersion)
            return handler.respond(to: request, context: context)
        }
    }

    func respond(to body: inout ByteBuffer, context: RequestContext) throws(DecodeError) -> EventLoopFuture<ResponseBody?> {
        try respond(&body, context)
    }
}
