import KafkaProtocol

extension KafkaFrameDecoder {
    /// The client's response framing: at least a correlation id (4 bytes), at most the configured maximum. A frame
    /// outside the bounds fails every request waiting on the connection (`RequestResponseHandler.errorCaught`).
    static func responses(maximumFrameBytes: Int) -> KafkaFrameDecoder {
        KafkaFrameDecoder(
            minimumFrameBytes: 4, maximumFrameBytes: maximumFrameBytes, limitName: "the maximum response size")
    }
}
