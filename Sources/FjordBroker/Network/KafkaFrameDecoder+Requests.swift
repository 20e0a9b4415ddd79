import KafkaProtocol

extension KafkaFrameDecoder {
    /// The broker's request framing: at least one byte (Kafka refuses a zero size; a frame too short for a header
    /// is refused by the connection handler, naming the peer), at most `socket.request.max.bytes`.
    static func requests(maximumFrameBytes: Int) -> KafkaFrameDecoder {
        KafkaFrameDecoder(
            minimumFrameBytes: 1, maximumFrameBytes: maximumFrameBytes, limitName: "socket.request.max.bytes")
    }
}
