import KafkaProtocol
import NIOCore
import NIOPosix

/// Where a handler runs: the one rule of docs/ARCHITECTURE.md, "Threads and ownership". Event loops never block:
/// a handler that writes to a log (an append may create, truncate and preallocate a segment file) or that takes a
/// lock held across such a write (a coordinator's) declares `.ioThreadPool`, and the registry runs it there, as
/// Kafka runs requests on its I/O threads. Everything else answers on the connection's event loop.
public enum HandlerExecution: Sendable {
    case eventLoop
    case ioThreadPool
}

/// Serves one Kafka API. Each `APIs/NN_Name.swift` file defines one and registers it in `APIRegistry`.
///
/// A handler whose work must wait (a long-polling fetch, a rebalance, a metadata change that is fsynced)
/// completes the future later, without blocking the thread it runs on.
public protocol APIHandler: Sendable {
    associatedtype Request: KafkaRequest
    /// The versions served; ApiVersions advertises exactly these.
    var versions: ClosedRange<Int16> { get }
    /// Where `respond` runs (default: the event loop).
    var execution: HandlerExecution { get }
    /// The encoded answer, or nil for none (Produce with `acks=0`).
    func respond(to request: Request, context: RequestContext) -> EventLoopFuture<ResponseBody?>
}

extension APIHandler {
    public var execution: HandlerExecution { .eventLoop }
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
    /// Where the handler runs; `ioThreads` is nil where there is no pool (connection tests with an
    /// `EmbeddedChannel`): every handler then runs in place.
    let execution: HandlerExecution
    let ioThreads: NIOThreadPool?
    private let decode:
        @Sendable (inout ByteBuffer, RequestContext) throws(DecodeError) ->
            @Sendable () -> EventLoopFuture<ResponseBody?>

    init<Handler: APIHandler>(_ handler: Handler, ioThreads: NIOThreadPool?) {
        precondition(
            Handler.Request.validVersions.contains(handler.versions.lowerBound)
                && Handler.Request.validVersions.contains(handler.versions.upperBound),
            "\(Handler.self) serves versions the \(Handler.Request.self) spec does not define"
        )
        apiKey = Handler.Request.apiKey
        versions = handler.versions
        execution = ioThreads == nil ? .eventLoop : handler.execution
        self.ioThreads = ioThreads
        decode = {
            (body: inout ByteBuffer, context: RequestContext) throws(DecodeError)
                -> @Sendable () -> EventLoopFuture<ResponseBody?> in
            // Bytes after the body are ignored, as Kafka's request parser does: librdkafka 2.16, for one,
            // appends three bytes to its Metadata v12 request for all topics.
            let request = try Handler.Request(from: &body, version: context.apiVersion)
            return { handler.respond(to: request, context: context) }
        }
    }

    /// Decodes the body (on the event loop) and returns the call of the handler, for the connection to run where
    /// `execution` says, in request order (`KafkaConnectionHandler`).
    func prepare(_ body: inout ByteBuffer, context: RequestContext) throws(DecodeError)
        -> @Sendable () -> EventLoopFuture<ResponseBody?>
    {
        try decode(&body, context)
    }

    /// Decodes and runs the handler where `execution` says (tests that call one handler at a time).
    func respond(to body: inout ByteBuffer, context: RequestContext) throws(DecodeError) -> EventLoopFuture<
        ResponseBody?
    > {
        let call = try prepare(&body, context: context)
        guard execution == .ioThreadPool, let ioThreads else { return call() }
        return ioThreads.runIfActive(eventLoop: context.eventLoop, call).flatMap { $0 }
    }
}
