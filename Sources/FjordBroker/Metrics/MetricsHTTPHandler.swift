import NIOCore
import NIOHTTP1

/// One connection to the metrics port: `GET /metrics` (Prometheus text format 0.0.4), `GET /health` (200 "ok"
/// while the broker serves, 503 once it stops), 404 for any other path, 405 for a method other than GET or HEAD.
///
/// What can arrive is bounded: the decoder limits the request line and headers (`MetricsServer.decoderLimits`),
/// and a request body, which no route takes, closes the connection once it passes `maximumBodyBytes`. Keep-alive
/// and pipelining follow the client (NIO's pipeline handler answers pipelined requests in order).
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What the routes answer with, supplied by the broker (or a test).
    struct Routes: Sendable {
        /// The exposition text, computed when asked (scrape-time gauges are set first).
        var metrics: @Sendable () -> ByteBuffer
        /// Whether the broker is serving clients.
        var isServing: @Sendable () -> Bool
    }

    static let maximumBodyBytes = 4096
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    private let routes: Routes
    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    init(routes: Routes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyBytes = 0
        case .body(let buffer):
            guard head != nil else { return }
            bodyBytes += buffer.readableBytes
            if bodyBytes > Self.maximumBodyBytes {
                head = nil
                respond(
                    context, status: .payloadTooLarge, body: "request body too large\n", keepAlive: false,
                    includeBody: true)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let (status, contentType, body, extraHeaders) = answer(head)
            respond(
                context, status: status, contentType: contentType, body: body, headers: extraHeaders,
                keepAlive: head.isKeepAlive, includeBody: head.method != .HEAD)
        }
    }

    /// The response to a complete request.
    func answer(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String, ByteBuffer, [(String, String)]) {
        let path =
            head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let text = "text/plain; charset=utf-8"
        guard path == "/metrics" || path == "/health" else {
            return (.notFound, text, ByteBuffer(string: "not found; try /metrics or /health\n"), [])
        }
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, text, ByteBuffer(string: "method not allowed\n"), [("Allow", "GET, HEAD")])
        }
        if path == "/health" {
            return routes.isServing()
                ? (.ok, text, ByteBuffer(string: "ok\n"), [])
                : (.serviceUnavailable, text, ByteBuffer(string: "stopping\n"), [])
        }
        return (.ok, Self.metricsContentType, routes.metrics(), [])
    }

    private func respond(
        _ context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8",
        body: String, keepAlive: Bool, includeBody: Bool
    ) {
        respond(
            context, status: status, contentType: contentType, body: ByteBuffer(string: body), headers: [],
            keepAlive: keepAlive, includeBody: includeBody)
    }

    private func respond(
        _ context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, body: ByteBuffer,
        headers extra: [(String, String)], keepAlive: Bool, includeBody: Bool
    ) {
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.readableBytes))])
        headers.add(contentsOf: extra)
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if includeBody { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in contextBox.value.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // An idle connection (no request for `MetricsServer.idleTimeout`) is closed.
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
