import FjordSecurity
import FjordStorage
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One client connection: turns request frames into handler calls and handler results into response frames.
///
/// Responses leave in the order the requests arrived, as Kafka guarantees per connection. A frame that cannot be
/// parsed, an unknown API, or an API or version this broker does not serve closes this connection with a log
/// line naming the peer, the API and the reason; other connections are not disturbed. ApiVersions of an
/// unsupported version is answered in v0 with UNSUPPORTED_VERSION, as Kafka does.
///
/// Work per connection is bounded, as Kafka bounds it by muting a connection while its request is processed: at
/// most `maximumInFlight` requests are being handled or have answers not yet written to the socket. Frames beyond
/// that wait in `waiting` (no more than one read's worth), and the connection is not read again until the window
/// has room and the channel is writable, so a client that pipelines requests without reading the answers stalls
/// itself (its socket buffers fill) instead of growing the broker's memory.
final class KafkaConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Kafka handles one request per connection at a time; a few more let a pipelining client overlap decoding
    /// with the previous answer's write.
    static let maximumInFlight = 8

    private let registry: APIRegistry
    private let apiVersions: ApiVersionsHandler
    private let metrics: RequestMetricsTable
    private var logger: Logger
    private var peer = "unknown peer"
    /// The peer's IP address, as ACLs name hosts.
    private var clientHost = "*"
    /// Completes when the previous response has been handed to the channel, so responses keep request order.
    private var previousResponse: EventLoopFuture<Void>?
    /// Requests handed to their handler whose answers are not yet written to the socket.
    private var inFlight = 0
    /// Frames decoded but not yet handled, because the window was full.
    private var waiting = CircularBuffer<ByteBuffer>()
    /// A `read` held back while the window was full or the channel not writable.
    private var readHeldBack = false
    private var isClosing = false
    private var isHandlingWaiting = false
    /// The peer closed: nothing more is read; the Produce frames already read are still handled.
    private var isPeerClosed = false
    /// Returns when the last handler sent to the I/O pool has returned; nil when none is outstanding.
    private var lastPoolDispatch: EventLoopFuture<Void>?
    /// On a SASL listener: who the client is, and what it may send before it has authenticated.
    private var authenticator: SaslAuthenticator?
    /// The frame decoder's bound until the client has authenticated (`sasl.server.max.receive.size`), lifted then.
    private let unauthenticatedLimit: NIOLoopBoundBox<Int?>?
    /// On a TLS listener: its principal mapping, and the pool that reads a Fetch's file slices into memory (TLS must
    /// encrypt them: the zero-copy `sendfile` path is for plaintext listeners only).
    private let tls: (listener: TlsListener, fileReads: NIOThreadPool?)?
    /// A quota throttle a handler asked for (`ClientQuotaManager`), applied once its answer is written.
    private let throttle = ConnectionThrottle()
    /// Reading is paused until then (a throttled client), in event-loop time.
    private var mutedUntil: NIODeadline?
    /// The listener this connection came in on (`RequestContext.listenerName`).
    private let listenerName: String?
    /// The client certificate's principal, once looked up (on SSL listeners without SASL).
    private var certificatePrincipal: KafkaPrincipal?

    init(
        registry: APIRegistry, apiVersions: ApiVersionsHandler, metrics: RequestMetricsTable,
        sasl: SaslListener? = nil, unauthenticatedLimit: NIOLoopBoundBox<Int?>? = nil,
        tls: (listener: TlsListener, fileReads: NIOThreadPool?)? = nil, listenerName: String? = nil, logger: Logger
    ) {
        self.listenerName = listenerName
        self.unauthenticatedLimit = unauthenticatedLimit
        self.tls = tls
        self.registry = registry
        self.apiVersions = apiVersions
        self.metrics = metrics
        self.authenticator = sasl.map(SaslAuthenticator.init(listener:))
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.remoteAddress.map { "\($0)" } ?? "unknown peer"
        clientHost = context.remoteAddress?.ipAddress ?? "*"
        logger[metadataKey: "peer"] = "\(peer)"
        logger.debug("connection opened")
        metrics.connections.increment()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        waiting.append(unwrapInboundIn(data))
        handleWaiting(context)
    }

    // MARK: The window

    /// Handles waiting frames while the window has room. Not re-entered: an answer written at once (its write
    /// completes inside `flush`) comes back through `responseLeft`, and this loop, still running, takes the next
    /// frame, so a long pipeline never deepens the stack.
    private func handleWaiting(_ context: ChannelHandlerContext) {
        guard !isHandlingWaiting else { return }
        isHandlingWaiting = true
        defer { isHandlingWaiting = false }
        // A client with a quota gets one request at a time (Kafka's rule for every connection): a throttle then
        // holds back the very next request.
        let window = throttle.quotaApplies ? 1 : Self.maximumInFlight
        while !isClosing, inFlight < window, mutedUntil == nil, let frame = waiting.popFirst() {
            inFlight += 1
            handle(frame, context: context)
        }
    }

    /// The connection is read again only when every decoded frame is handled, the window has room and the
    /// channel can take more output.
    private var mayRead: Bool { waiting.isEmpty && inFlight < Self.maximumInFlight && mutedUntil == nil }

    func read(context: ChannelHandlerContext) {
        if mayRead && context.channel.isWritable {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    /// One answer is on the socket (or was none, or failed): room for the next request.
    private func responseLeft(_ context: ChannelHandlerContext) {
        inFlight -= 1
        handleWaiting(context)
        resumeReadingIfPossible(context)
    }

    /// A handler found the client over its quota: no more requests are read or handled until the throttle time has
    /// passed (the answer, which tells the client the time, is already out), as Kafka mutes the channel.
    private func muteIfThrottled(_ context: ChannelHandlerContext) {
        let ms = throttle.take()
        guard ms > 0 else { return }
        let until = NIODeadline.now() + .milliseconds(ms)
        guard mutedUntil.map({ until > $0 }) ?? true else { return }
        mutedUntil = until
        let loopBound = NIOLoopBound((context: context, handler: self), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: until) {
            let (context, handler) = loopBound.value
            guard let muted = handler.mutedUntil, muted <= NIODeadline.now() else { return }
            handler.mutedUntil = nil
            handler.handleWaiting(context)
            handler.resumeReadingIfPossible(context)
        }
    }

    private func resumeReadingIfPossible(_ context: ChannelHandlerContext) {
        guard readHeldBack, mayRead, context.channel.isWritable, !isClosing, !isPeerClosed else { return }
        readHeldBack = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Requests

    private func handle(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        var frame = frame
        if authenticator?.expectsRawToken == true {
            return authenticate(rawToken: frame, context: context)
        }
        guard let rawKey = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int16.self),
            let version = frame.getInteger(at: frame.readerIndex + 2, endianness: .big, as: Int16.self)
        else {
            return close(context, reason: "request of \(frame.readableBytes) bytes is too short for a header")
        }
        let apiKey = ApiKey(rawKey)
        guard let requestType = apiKey.requestType else {
            return close(context, reason: "unknown API key \(rawKey)")
        }
        let header: RequestHeader
        do {
            header = try RequestHeader(from: &frame, version: requestType.requestHeaderVersion(for: version))
        } catch {
            return close(context, reason: "malformed \(apiKey) v\(version) request header: \(error)")
        }
        guard let handler = registry.handler(for: apiKey) else {
            return close(context, reason: "\(apiKey) (key \(rawKey)) is not served by this broker")
        }
        let responseHeaderVersion = requestType.responseHeaderVersion(for: version)
        guard handler.versions.contains(version) else {
            if apiKey == .apiVersions {
                let body = ResponseBody(apiVersions.unsupportedVersionResponse())
                return respond(
                    context, correlationID: header.correlationID, headerVersion: 0,
                    body: context.eventLoop.makeSucceededFuture(body))
            }
            return close(
                context,
                reason:
                    "\(apiKey) v\(version) is not supported (serving v\(handler.versions.lowerBound)-v\(handler.versions.upperBound))"
            )
        }
        if let authenticator {
            switch authenticator.admission(of: apiKey, nowMs: BrokerSessions.nowMs()) {
            case .serve: break
            case .authenticate: return authenticate(apiKey, header: header, body: &frame, context: context)
            case .close(let reason): return close(context, reason: reason)
            }
        }
        let principal: KafkaPrincipal
        if let authenticator {
            principal = authenticator.principal ?? .anonymous
        } else if tls != nil {
            guard let fromCertificate = certificatePrincipal(context) else {
                return close(context, reason: "no ssl.principal.mapping.rules rule applies to the client certificate")
            }
            principal = fromCertificate
        } else {
            principal = .anonymous
        }
        var requestContext = RequestContext(
            header: header, peer: peer, eventLoop: context.eventLoop, principal: principal, clientHost: clientHost,
            listenerName: listenerName)
        requestContext.throttle = throttle
        let started = NIODeadline.now()
        let call: @Sendable () -> EventLoopFuture<ResponseBody?>
        do {
            call = try handler.prepare(&frame, context: requestContext)
        } catch {
            return close(context, reason: "malformed \(apiKey) v\(version) request: \(error)")
        }
        let body = dispatch(call, on: handler, context: context)
        if let requestMetrics = metrics.byKey[apiKey] {
            // Counted once decoded; the latency runs until the handler's answer is ready (a parked fetch included).
            requestMetrics.count.increment()
            body.whenComplete { _ in requestMetrics.latency.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
            }
        }
        respond(context, correlationID: header.correlationID, headerVersion: responseHeaderVersion, body: body)
    }

    /// Runs a handler where it runs, with the handlers of one connection starting in request order, one at a
    /// time, as Kafka processes a connection's requests: two produces of one client reach the log in the order they
    /// were sent, even when the I/O pool has several threads. A handler on the pool holds back the handlers after
    /// it until it has returned (its future may complete later: a parked JoinGroup does not hold anything back).
    private func dispatch(
        _ call: @escaping @Sendable () -> EventLoopFuture<ResponseBody?>, on handler: AnyAPIHandler,
        context: ChannelHandlerContext
    ) -> EventLoopFuture<ResponseBody?> {
        let eventLoop = context.eventLoop
        guard handler.execution == .ioThreadPool, let ioThreads = handler.ioThreads else {
            guard let previous = lastPoolDispatch else { return call() }
            return previous.flatMap { call() }
        }
        let started = (lastPoolDispatch ?? eventLoop.makeSucceededVoidFuture()).flatMap {
            ioThreads.runIfActive(eventLoop: eventLoop, call)
        }
        let returned = started.map { _ in () }
        lastPoolDispatch = returned
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        returned.whenComplete { _ in
            let handler = loopBound.value
            if handler.lastPoolDispatch === returned { handler.lastPoolDispatch = nil }
        }
        return started.flatMap { $0 }
    }

    // MARK: TLS

    /// The principal of the client certificate (`User:ANONYMOUS` without one), looked up once: requests flow only
    /// after the handshake, so the certificate is known by the first.
    private func certificatePrincipal(_ context: ChannelHandlerContext) -> KafkaPrincipal? {
        if let certificatePrincipal { return certificatePrincipal }
        guard let tls, let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
        else { return nil }
        certificatePrincipal = tls.listener.principal(for: handler.peerCertificate)
        if let certificatePrincipal { logger[metadataKey: "principal"] = "\(certificatePrincipal)" }
        return certificatePrincipal
    }

    /// On a TLS connection an answer's file slices are read into memory first (on the I/O pool), because TLS must
    /// encrypt every byte; elsewhere the answer goes as it is.
    private func encryptable(_ body: EventLoopFuture<ResponseBody?>) -> EventLoopFuture<ResponseBody?> {
        guard let tls else { return body }
        let eventLoop = body.eventLoop
        return body.flatMap { body in
            guard let body, body.parts.contains(where: { if case .file = $0 { true } else { false } }) else {
                return eventLoop.makeSucceededFuture(body)
            }
            let read = { () throws -> ResponseBody? in
                var inMemory = ResponseBody()
                for part in body.parts {
                    switch part {
                    case .bytes(let buffer): inMemory.append(buffer)
                    case .file(let slice):
                        inMemory.append(try slice.file.read(at: slice.position, length: slice.length))
                    }
                }
                return inMemory
            }
            guard let pool = tls.fileReads else { return eventLoop.makeCompletedFuture(Result(catching: read)) }
            return pool.runIfActive(eventLoop: eventLoop, read)
        }
    }

    // MARK: SASL

    /// SaslHandshake or SaslAuthenticate on a SASL listener, answered by the connection's authenticator.
    private func authenticate(
        _ apiKey: ApiKey, header: RequestHeader, body frame: inout ByteBuffer, context: ChannelHandlerContext
    ) {
        let version = header.requestApiVersion
        let headerVersion = apiKey.requestType!.responseHeaderVersion(for: version)
        do {
            if apiKey == .saslHandshake {
                let request = try SaslHandshakeRequest(from: &frame, version: version)
                let (response, closeAfter) = authenticator!.handshake(request, version: version)
                if closeAfter { stopReading(reason: "SASL handshake for '\(request.mechanism)' refused") }
                return respond(
                    context, correlationID: header.correlationID, headerVersion: headerVersion,
                    body: context.eventLoop.makeSucceededFuture(ResponseBody(response.encoded(version: version))),
                    thenClose: closeAfter)
            }
            let request = try SaslAuthenticateRequest(from: &frame, version: version)
            let outcome = authenticator!.authenticate(
                Array(request.authBytes.readableBytesView), nowMs: BrokerSessions.nowMs())
            let response = SaslAuthenticateResponse(
                errorCode: outcome.errorCode.rawValue, errorMessage: outcome.errorMessage,
                authBytes: ByteBuffer(bytes: outcome.token), sessionLifetimeMs: outcome.sessionLifetimeMs)
            let body = ResponseBody(response.encoded(version: version))
            authenticated(outcome)
            respond(
                context, correlationID: header.correlationID, headerVersion: headerVersion,
                body: delayed(body, failed: outcome.failed, on: context.eventLoop), thenClose: outcome.failed)
        } catch {
            close(context, reason: "malformed \(apiKey) v\(version) request: \(error)")
        }
    }

    /// A raw SASL token (after SaslHandshake v0), answered by a frame of the server's token without a header; a
    /// failure has no answer in this framing: the connection closes.
    private func authenticate(rawToken frame: ByteBuffer, context: ChannelHandlerContext) {
        let outcome = authenticator!.authenticate(Array(frame.readableBytesView), nowMs: BrokerSessions.nowMs())
        authenticated(outcome)
        guard !outcome.failed else {
            return close(context, reason: "SASL authentication failed: \(outcome.errorMessage ?? "")")
        }
        respond(
            context, correlationID: nil, headerVersion: 0,
            body: context.eventLoop.makeSucceededFuture(ResponseBody(ByteBuffer(bytes: outcome.token))))
    }

    private func authenticated(_ outcome: SaslAuthenticator.TokenOutcome) {
        if outcome.failed {
            stopReading(reason: "SASL authentication failed: \(outcome.errorMessage ?? "")")
        } else if outcome.authenticated, let principal = authenticator?.principal {
            unauthenticatedLimit?.value = nil
            logger[metadataKey: "principal"] = "\(principal)"
            logger.debug("authenticated")
        }
    }

    /// A failed authentication is answered only after `connection.failed.authentication.delay.ms`, as Kafka
    /// delays it, so that guessing passwords is slow.
    private func delayed(_ body: ResponseBody, failed: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<
        ResponseBody?
    > {
        guard failed, let delay = authenticator?.listener.failedAuthenticationDelayMs, delay > 0 else {
            return eventLoop.makeSucceededFuture(body)
        }
        return eventLoop.scheduleTask(in: .milliseconds(delay)) { body }.futureResult
    }

    /// Nothing more is read or handled: the answer in hand is the last, then the connection closes.
    private func stopReading(reason: String) {
        logger.info("closing connection after the answer: \(reason)")
        isClosing = true
        waiting.removeAll()
    }

    // MARK: Answers

    /// Writes the response once it and every earlier response on this connection are ready. A nil body (Produce
    /// with acks=0) sends nothing but still keeps its place in the order; a failed one (`ClosingAnswer`, or a
    /// handler's error) closes the connection in its place. The request leaves the window when its
    /// answer's last byte is written to the socket. Without a correlation id the body goes out without a response
    /// header (a raw SASL token); `thenClose` closes the connection once it is written.
    private func respond(
        _ context: ChannelHandlerContext, correlationID: Int32?, headerVersion: Int16,
        body: EventLoopFuture<ResponseBody?>, thenClose: Bool = false
    ) {
        let body = encryptable(body)
        // After every earlier answer, whatever this one's outcome: a failed request closes the connection only once
        // the answers before it are written. (`previousResponse` never fails: its failure closes and recovers.)
        let ready = previousResponse.map { previous in previous.flatMap { body } } ?? body
        let loopBound = NIOLoopBound((context: context, handler: self), eventLoop: context.eventLoop)
        let logger = self.logger
        previousResponse = ready.flatMapThrowing { body in
            let (context, handler) = loopBound.value
            guard let body else {
                handler.responseLeft(context)
                return
            }
            var prefix = context.channel.allocator.buffer(capacity: 16)
            prefix.writeInteger(Int32(0))
            if let correlationID {
                ResponseHeader(correlationID: correlationID).write(to: &prefix, version: headerVersion)
            }
            prefix.setInteger(Int32(prefix.readableBytes - 4 + body.byteCount), at: prefix.readerIndex)
            // The header travels in one buffer with the bytes that follow it, so most responses are one write.
            var pending: ByteBuffer? = prefix
            var written: [EventLoopFuture<Void>] = []
            for part in body.parts {
                switch part {
                case .bytes(let buffer):
                    if pending != nil {
                        pending!.writeImmutableBuffer(buffer)
                    } else {
                        pending = buffer
                    }
                case .file(let slice):
                    if let bytes = pending {
                        context.write(NIOAny(IOData.byteBuffer(bytes)), promise: nil)
                        pending = nil
                    }
                    // Each region owns a duplicate descriptor, closed when the write is done, so the segment may
                    // be rolled, deleted or closed meanwhile.
                    let handle = try slice.file.duplicateHandle()
                    let region = FileRegion(
                        fileHandle: handle, readerIndex: Int(slice.position),
                        endIndex: Int(slice.position) + slice.length)
                    let promise = context.eventLoop.makePromise(of: Void.self)
                    promise.futureResult.whenComplete { _ in try? handle.close() }
                    context.write(NIOAny(IOData.fileRegion(region)), promise: promise)
                    written.append(promise.futureResult)
                }
            }
            if let bytes = pending {
                let promise = context.eventLoop.makePromise(of: Void.self)
                context.write(NIOAny(IOData.byteBuffer(bytes)), promise: promise)
                written.append(promise.futureResult)
            }
            context.flush()
            // Writes complete in order: the last one done means the whole answer is on the socket (or failed, and
            // the connection is closing).
            written.last!.whenComplete { _ in
                let (context, handler) = loopBound.value
                handler.muteIfThrottled(context)
                handler.responseLeft(context)
                if thenClose { context.close(promise: nil) }
            }
        }.recover { error in
            let (context, handler) = loopBound.value
            if let closing = error as? ClosingAnswer {
                logger.info("closing connection: \(closing.reason)")
            } else {
                logger.error("request failed, closing connection", metadata: ["error": "\(error)"])
            }
            handler.isClosing = true
            context.close(promise: nil)
        }
    }

    private func close(_ context: ChannelHandlerContext, reason: String) {
        logger.warning("closing connection: \(reason)")
        isClosing = true
        waiting.removeAll()
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.warning("closing connection: \(error)")
        if error is IOError {
            // The socket failed (a reset): the peer is gone as if it had closed, and the frames it sent whole are
            // treated as on a close (`channelInactive`), as Kafka still processes the requests it received in full
            // from a connection that drops.
            context.close(promise: nil)
            return
        }
        isClosing = true
        waiting.removeAll()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        logger.debug("connection closed")
        // The peer closed (or reset the connection) with requests read but not handled yet. Their senders can read
        // no answer; every client takes a request in flight on a closed connection as failed. Produce requests are
        // still handled — an acks=0 producer that closes right after sending expects no answer and must lose
        // nothing that reached the broker — and the rest are dropped. (A connection this broker closes — a
        // malformed frame, an unknown API — drops them all: `close` and `errorCaught`.)
        waiting.removeAll { $0.getInteger(at: $0.readerIndex, as: Int16.self) != ApiKey.produce.rawValue }
        if waiting.isEmpty || isClosing {
            isClosing = true
            waiting.removeAll()
        } else {
            isPeerClosed = true
            handleWaiting(context)
        }
        metrics.connections.decrement()
        context.fireChannelInactive()
    }
}
