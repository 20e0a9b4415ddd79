import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One connection from this node to a peer's controller listener, used for the Raft RPCs and for admin requests
/// forwarded to the active controller. It connects on first use, queues what is sent while it connects (at most
/// `maximumQueuedRequests`; beyond that a request fails at once — Raft resends), and after a failure waits an
/// exponential backoff (`reconnectBackoff` doubling to `reconnectBackoffMax`, Kafka's `reconnect.backoff.ms` and
/// `reconnect.backoff.max.ms`) before the next attempt, which the first request sent after the failure schedules
/// (requests wait for it as for any connect). A request that gets no answer in time ends the connection
/// (`ControllerResponseHandler`), so one lost stream costs one timeout, not every later request.
///
/// The frames are Kafka's: size, request header (v2 for flexible versions), body; responses are cut by
/// `KafkaFrameDecoder` and matched by `ControllerResponseHandler`.
final class ControllerConnection: Sendable {
    struct Configuration: Sendable {
        var reconnectBackoff: TimeAmount = .milliseconds(50)
        var reconnectBackoffMax: TimeAmount = .seconds(1)
        var connectTimeout: TimeAmount = .seconds(2)
        var maximumQueuedRequests = 128
        var maximumResponseBytes = 100 << 20
    }

    private enum Phase {
        case idle
        case connecting(queued: [ControllerOutboundFrame])
        case connected(any Channel)
        case backingOff(until: NIODeadline)
    }

    private struct State {
        var phase: Phase = .idle
        var nextCorrelationID: Int32 = 0
        var backoff: TimeAmount
        var closed = false
    }

    let nodeID: NodeID
    let host: String
    let port: Int
    private let group: any EventLoopGroup
    private let configuration: Configuration
    private let clientID: String
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    init(
        nodeID: NodeID, host: String, port: Int, group: any EventLoopGroup, clientID: String,
        configuration: Configuration = Configuration(), logger: Logger
    ) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
        self.group = group
        self.clientID = clientID
        self.configuration = configuration
        self.logger = logger
        self.state = NIOLockedValueBox(State(backoff: configuration.reconnectBackoff))
    }

    private var peer: String { "controller \(nodeID) at \(host):\(port)" }

    /// Sends a request and completes with the response body (its header removed), or fails (no connection,
    /// timeout, closed connection).
    func send<Request: KafkaRequest>(_ request: Request, version: Int16, timeout: TimeAmount) -> EventLoopFuture<
        ByteBuffer
    > {
        send(
            apiKey: Request.apiKey, version: version, headerVersion: Request.requestHeaderVersion(for: version),
            responseHeaderVersion: Request.responseHeaderVersion(for: version), body: request.encoded(version: version),
            timeout: timeout)
    }

    /// Sends an encoded request body; see `send(_:version:timeout:)`.
    func send(
        apiKey: ApiKey, version: Int16, headerVersion: Int16, responseHeaderVersion: Int16, body: ByteBuffer,
        timeout: TimeAmount
    ) -> EventLoopFuture<ByteBuffer> {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        let correlationID = state.withLockedValue { state -> Int32 in
            state.nextCorrelationID = state.nextCorrelationID == .max ? 0 : state.nextCorrelationID + 1
            return state.nextCorrelationID
        }
        var frame = ByteBuffer()
        frame.writeInteger(Int32(0))
        RequestHeader(
            requestApiKey: apiKey.rawValue, requestApiVersion: version, correlationID: correlationID, clientID: clientID
        ).write(to: &frame, version: headerVersion)
        frame.writeImmutableBuffer(body)
        frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex)
        let outbound = ControllerOutboundFrame(
            correlationID: correlationID, frame: frame, responseHeaderVersion: responseHeaderVersion,
            promise: ControllerResponsePromise(promise), timeout: timeout)
        dispatch(outbound)
        return promise.futureResult
    }

    /// Hands the frame to the channel, queues it while connecting, or fails it.
    private func dispatch(_ outbound: ControllerOutboundFrame) {
        enum Action {
            case write(any Channel)
            case connect(at: NIODeadline?)
            case queued
            case fail(String)
        }
        let action = state.withLockedValue { state -> Action in
            if state.closed { return .fail("closed") }
            switch state.phase {
            case .connected(let channel) where !channel.isActive:
                // Closed, and its `disconnected` has not run yet: the next attempt, after a backoff.
                let until = NIODeadline.now() + state.backoff
                state.backoff = min(state.backoff * 2, configuration.reconnectBackoffMax)
                state.phase = .connecting(queued: [outbound])
                return .connect(at: until)
            case .connected(let channel):
                return .write(channel)
            case .connecting(var queued):
                guard queued.count < configuration.maximumQueuedRequests else { return .fail("too many queued") }
                queued.append(outbound)
                state.phase = .connecting(queued: queued)
                return .queued
            case .backingOff(let until):
                // The next attempt waits out the backoff; what is sent meanwhile waits for it (a dropped request
                // would cost the core a whole request timeout).
                state.phase = .connecting(queued: [outbound])
                return .connect(at: until > .now() ? until : nil)
            case .idle:
                state.phase = .connecting(queued: [outbound])
                return .connect(at: nil)
            }
        }
        switch action {
        case .write(let channel): write(outbound, to: channel, flush: true)
        case .queued: break
        case .connect(nil): connect()
        case .connect(let deadline?): group.next().scheduleTask(deadline: deadline) { self.connect() }
        case .fail(let reason): outbound.promise.fail(ConnectionFailure("\(peer): \(reason)"))
        }
    }

    /// A write can fail without reaching `ControllerResponseHandler` (the channel closed since it was picked):
    /// the request fails then, or its sender would wait forever.
    private func write(_ outbound: ControllerOutboundFrame, to channel: any Channel, flush: Bool) {
        let written = flush ? channel.writeAndFlush(outbound) : channel.write(outbound)
        let peer = peer
        written.whenFailure { error in outbound.promise.fail(ConnectionFailure("\(peer): \(error)")) }
    }

    private func connect() {
        let peer = peer
        let maximumResponseBytes = configuration.maximumResponseBytes
        ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(
                            KafkaFrameDecoder(
                                minimumFrameBytes: 4, maximumFrameBytes: maximumResponseBytes,
                                limitName: "controller response size")))
                    try channel.pipeline.syncOperations.addHandler(ControllerResponseHandler(peer: peer))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in self.connected(result) }
    }

    private func connected(_ result: Result<any Channel, any Error>) {
        switch result {
        case .success(let channel):
            let (queued, closed) = state.withLockedValue { state -> ([ControllerOutboundFrame], Bool) in
                guard case .connecting(let queued) = state.phase else { return ([], state.closed) }
                state.phase = state.closed ? .idle : .connected(channel)
                state.backoff = configuration.reconnectBackoff
                return (queued, state.closed)
            }
            if closed {
                channel.close(promise: nil)
                for outbound in queued { outbound.promise.fail(ConnectionFailure("\(peer): closed")) }
                return
            }
            logger.debug("connected", metadata: ["peer": "\(peer)"])
            for outbound in queued { write(outbound, to: channel, flush: false) }
            channel.flush()
            channel.closeFuture.whenComplete { _ in self.disconnected(channel) }
        case .failure(let error):
            let queued = state.withLockedValue { state -> [ControllerOutboundFrame] in
                guard case .connecting(let queued) = state.phase else { return [] }
                enterBackoff(&state)
                return queued
            }
            logger.debug("cannot connect", metadata: ["peer": "\(peer)", "error": "\(error)"])
            for outbound in queued { outbound.promise.fail(ConnectionFailure("\(peer): \(error)")) }
        }
    }

    private func disconnected(_ channel: any Channel) {
        state.withLockedValue { state in
            guard case .connected(let current) = state.phase, current === channel else { return }
            enterBackoff(&state)
        }
        logger.debug("disconnected", metadata: ["peer": "\(peer)"])
    }

    private func enterBackoff(_ state: inout State) {
        state.phase = .backingOff(until: .now() + state.backoff)
        state.backoff = min(state.backoff * 2, configuration.reconnectBackoffMax)
    }

    /// Closes the connection; later sends fail.
    func close() {
        let channel = state.withLockedValue { state -> (any Channel)? in
            state.closed = true
            if case .connected(let channel) = state.phase { return channel }
            return nil
        }
        channel?.close(promise: nil)
    }
}
