import KafkaProtocol
import NIOCore

extension KafkaFrameDecoder {
    /// The broker's request framing: at least one byte (Kafka refuses a zero size; a frame too short for a header
    /// is refused by the connection handler, naming the peer), at most `socket.request.max.bytes`.
    /// On a SASL listener, `unauthenticatedLimit` holds `sasl.server.max.receive.size` until the connection has
    /// authenticated (then nil).
    static func requests(maximumFrameBytes: Int, unauthenticatedLimit: NIOLoopBoundBox<Int?>? = nil)
        -> KafkaFrameDecoder
    {
        KafkaFrameDecoder(
            minimumFrameBytes: 1, maximumFrameBytes: maximumFrameBytes, limitName: "socket.request.max.bytes",
            provisionalLimit: unauthenticatedLimit.map { ($0, "sasl.server.max.receive.size") })
    }
}
