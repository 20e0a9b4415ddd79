import NIOCore

/// Zigzag varints as Kafka record batch v2 uses them (protobuf `sint32` / `sint64`).
///
/// Reading checks every byte against the readable bytes and rejects encodings longer than the type allows
/// (5 bytes for 32-bit, 10 for 64-bit) or whose final byte carries bits beyond the type's width.
extension ByteBuffer {
    /// Reads a zigzag-encoded 32-bit varint.
    mutating func readVarint32() throws(RecordBatchError) -> Int32 {
        let raw = try readUnsignedVarint(maxBytes: 5, lastByteMax: 0x0F)
        let value = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Reads a zigzag-encoded 64-bit varint.
    mutating func readVarint64() throws(RecordBatchError) -> Int64 {
        let value = try readUnsignedVarint(maxBytes: 10, lastByteMax: 0x01)
        return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Writes `value` zigzag-encoded; returns the number of bytes written.
    @discardableResult
    mutating func writeVarint32(_ value: Int32) -> Int {
        let zigzag = UInt32(bitPattern: (value << 1) ^ (value >> 31))
        return writeUnsignedVarint(UInt64(zigzag))
    }

    /// Writes `value` zigzag-encoded; returns the number of bytes written.
    @discardableResult
    mutating func writeVarint64(_ value: Int64) -> Int {
        let zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        return writeUnsignedVarint(zigzag)
    }

    /// The encoded size of `value` as a zigzag 32-bit varint.
    static func varint32Size(_ value: Int32) -> Int {
        unsignedVarintSize(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    /// The encoded size of `value` as a zigzag 64-bit varint.
    static func varint64Size(_ value: Int64) -> Int {
        unsignedVarintSize(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    private static func unsignedVarintSize(_ value: UInt64) -> Int {
        var remaining = value
        var size = 1
        while remaining >= 0x80 {
            remaining >>= 7
            size += 1
        }
        return size
    }

    /// One capacity check and one write for all the bytes (a varint is at most 10).
    private mutating func writeUnsignedVarint(_ value: UInt64) -> Int {
        if value < 0x80 { return writeInteger(UInt8(truncatingIfNeeded: value)) }
        return writeWithUnsafeMutableBytes(minimumWritableBytes: 10) { Self.putUnsignedVarint(value, into: $0, at: 0) }
    }

    /// The zigzag encoding of a 32-bit value, as an unsigned varint takes it.
    static func zigzag32(_ value: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    /// The zigzag encoding of a 64-bit value, as an unsigned varint takes it.
    static func zigzag64(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Writes `value` as an unsigned varint at `offset` of `bytes` (which must have room for 10 bytes there);
    /// returns the number of bytes written.
    static func putUnsignedVarint(_ value: UInt64, into bytes: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var remaining = value
        var index = offset
        while remaining >= 0x80 {
            bytes[index] = UInt8(truncatingIfNeeded: remaining) | 0x80
            remaining >>= 7
            index += 1
        }
        bytes[index] = UInt8(truncatingIfNeeded: remaining)
        return index + 1 - offset
    }

    private mutating func readUnsignedVarint(maxBytes: Int, lastByteMax: UInt8) throws(RecordBatchError) -> UInt64 {
        var result: UInt64 = 0
        var index = readerIndex
        for position in 0..<maxBytes {
            guard let byte = getInteger(at: index, as: UInt8.self) else {
                throw RecordBatchError(.truncated, "varint runs past the end of the data")
            }
            index += 1
            if position == maxBytes - 1 && byte > lastByteMax {
                throw RecordBatchError(.invalidVarint, "varint is longer than \(maxBytes) bytes or overflows")
            }
            result |= UInt64(byte & 0x7F) << UInt64(7 * position)
            if byte & 0x80 == 0 {
                moveReaderIndex(to: index)
                return result
            }
        }
        throw RecordBatchError(.invalidVarint, "varint is longer than \(maxBytes) bytes")
    }
}
