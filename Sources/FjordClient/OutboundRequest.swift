import NIOCore

/// One encoded request on its way out: the whole frame, its correlation id, and where its response goes.
struct OutboundRequest {
    /// Size prefix, header and body.
    var frame: ByteBuffer
    var correlationID: Int32
    /// Completed with the response frame (correlation id first); `nil` when no response is expected (acks=0).
    var response: EventLoopPromise<ByteBuffer>?
    /// How long to wait for the response.
    var timeout: TimeAmount
    /// A description for error messages ("Produce v9").
    var label: String
}
