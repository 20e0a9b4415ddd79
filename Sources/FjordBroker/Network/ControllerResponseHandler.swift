import KafkaProtocol
import NIOCore

/// A request on its way to a peer controller: the whole frame (size, header, body) and what its answer needs.
struct ControllerOutboundFrame: Sendable {
    var correlationID: Int32
    var frame: ByteBuffer
    var responseHeaderVersion: Int16
    /// Completed with the response body (after the header), or failed at `timeout`, when the connection closes, or
    /// when the write fails.
    var promise: ControllerResponsePromise
    var timeout: TimeAmount
}

/// The client end of a connection to a peer's controller listener: matches responses to requests by correlation
/// id, fails every waiting request when the connection closes, and closes the connection when a request gets no
/// answer in time. Its table of waiting requests is confined to the channel's event loop (the handler's own state).
///
/// A request timeout ends the connection, as Kafka's NetworkClient disconnects a node on one: answers come in
/// request order, so a missing one means the peer or the path lost the stream (a stopped process, a middlebox that
/// dropped bytes), and a connection kept open would swallow every later request too; the next request connects
/// afresh.
final class ControllerResponseHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ControllerOutboundFrame
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var promise: ControllerResponsePromise
        var responseHeaderVersion: Int16
        var timeout: Scheduled<Void>
    }

    private var waiting: [Int32: Waiting] = [:]
    private let peer: String

    init(peer: String) {
        self.peer = peer
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        let id = request.correlationID
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let peer = peer
        let channel = context.channel
        let timeout = context.eventLoop.scheduleTask(in: request.timeout) {
            guard let entry = bound.value.waiting.removeValue(forKey: id) else { return }
            // Closed first: a request its sender makes on hearing of the failure finds the channel inactive and
            // connects afresh.
            channel.close(promise: nil)
            entry.promise.fail(ConnectionFailure("no answer from \(peer) in time (correlation id \(id))"))
        }
        waiting[id] = Waiting(
            promise: request.promise, responseHeaderVersion: request.responseHeaderVersion, timeout: timeout)
        context.write(wrapOutboundOut(request.frame), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let id = frame.getInteger(at: frame.readerIndex, as: Int32.self) else {
            context.close(promise: nil)
            return
        }
        // An answer nobody waits for (its request timed out) is dropped.
        guard let entry = waiting.removeValue(forKey: id) else { return }
        entry.timeout.cancel()
        do {
            _ = try ResponseHeader(from: &frame, version: entry.responseHeaderVersion)
            entry.promise.succeed(frame)
        } catch {
            entry.promise.fail(ConnectionFailure("unreadable response header from \(peer): \(error)"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll("connection to \(peer) closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll("connection to \(peer) failed: \(error)")
        context.close(promise: nil)
    }

    private func failAll(_ reason: String) {
        let entries = waiting
        waiting = [:]
        for entry in entries.values {
            entry.timeout.cancel()
            entry.promise.fail(ConnectionFailure(reason))
        }
    }
}
