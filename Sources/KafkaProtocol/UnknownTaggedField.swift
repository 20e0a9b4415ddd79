import NIOCore

/// A tagged field whose tag this version of Fjord does not know.
///
/// Flexible message versions end every struct with a tagged-field section. Tags we do not
/// understand are kept verbatim and written back, so a newer peer's data survives a round trip.
public struct UnknownTaggedField: Hashable, Sendable {
    public var tag: UInt32
    public var data: ByteBuffer

    public init(tag: UInt32, data: ByteBuffer) {
        self.tag = tag
        self.data = data
    }
}
