import NIOCore

/// Matches response frames to requests by correlation id, fails requests that outlive their timeout, and fails every
/// pending request when the connection closes. Lives on the channel's event loop, so its state needs no lock.
final class RequestResponseHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var timeout: Scheduled<Void>
        var label: String
    }

    private var pending: [Int32: Pending] = [:]
    private let brokerID: Int32?
    private let address: BrokerAddress

    init(brokerID: Int32?, address: BrokerAddress) {
        self.brokerID = brokerID
        self.address = address
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let response = request.response {
            let id = request.correlationID
            let label = request.label
            let broker = brokerID
            let address = address
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let timeout = context.eventLoop.scheduleTask(in: request.timeout) {
                guard let entry = bound.value.pending.removeValue(forKey: id) else { return }
                entry.promise.fail(
                    ClientError(.timeout, "\(label) to \(address) got no response in time", broker: broker)
                )
            }
            pending[id] = Pending(promise: response, timeout: timeout, label: label)
        }
        context.write(wrapOutboundOut(request.frame), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let id = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self),
            let entry = pending.removeValue(forKey: id)
        else {
            return  // A response to a request that already timed out.
        }
        entry.timeout.cancel()
        entry.promise.succeed(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ClientError(.connection, "connection to \(address) closed", broker: brokerID))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(ClientError(.connection, "connection to \(address) failed", broker: brokerID, cause: error))
        context.close(promise: nil)
    }

    private func failAll(_ error: ClientError) {
        let entries = pending
        pending.removeAll()
        for entry in entries.values {
            entry.timeout.cancel()
            entry.promise.fail(error)
        }
    }
}
