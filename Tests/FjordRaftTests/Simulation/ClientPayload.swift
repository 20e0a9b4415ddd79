import FjordRaft
import FjordTestSupport
import KafkaProtocol
import NIOCore

/// The data record a simulated client proposes: its sequence number (unique in a run), the node it was proposed to,
/// and a filler of random length and content so that batches differ in size. Decoding it back lets the liveness
/// check see which proposal committed and when it was made.
struct ClientPayload: Equatable, CustomStringConvertible {
    private static let magic: UInt32 = 0x4652_4350  // "FRCP"

    var sequence: UInt64
    var proposer: NodeID
    var fillerLength: Int

    init(sequence: UInt64, proposer: NodeID, fillerLength: Int) {
        self.sequence = sequence
        self.proposer = proposer
        self.fillerLength = fillerLength
    }

    /// Reads a payload written by `bytes(using:)`; nil for anything else.
    init?(_ bytes: ByteBuffer) {
        var buffer = bytes
        guard buffer.readInteger(as: UInt32.self) == Self.magic,
            let sequence = buffer.readInteger(as: UInt64.self),
            let proposer = buffer.readInteger(as: Int32.self),
            let length = buffer.readInteger(as: UInt16.self),
            buffer.readableBytes == Int(length)
        else { return nil }
        self.init(sequence: sequence, proposer: proposer, fillerLength: Int(length))
    }

    func bytes(using generator: inout SeededGenerator) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Self.magic)
        buffer.writeInteger(sequence)
        buffer.writeInteger(proposer)
        buffer.writeInteger(UInt16(fillerLength))
        buffer.writeRepeatingByte(UInt8(truncatingIfNeeded: generator.next()), count: fillerLength)
        return buffer
    }

    var description: String { "proposal #\(sequence) to node \(proposer)" }
}
