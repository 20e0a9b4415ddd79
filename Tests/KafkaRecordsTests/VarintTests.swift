import NIOCore
import Testing

@testable import KafkaRecords

@Suite struct VarintTests {
    /// Zigzag encodings as protobuf defines them for sint32/sint64.
    @Test func knownEncodings() throws {
        let cases: [(Int32, [UInt8])] = [
            (0, [0x00]), (-1, [0x01]), (1, [0x02]), (-2, [0x03]), (63, [0x7E]), (-64, [0x7F]), (64, [0x80, 0x01]),
            (Int32.max, [0xFE, 0xFF, 0xFF, 0xFF, 0x0F]), (Int32.min, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ]
        for (value, bytes) in cases {
            var buffer = ByteBuffer()
            let written = buffer.writeVarint32(value)
            #expect(Array(buffer.readableBytesView) == bytes, "\(value)")
            #expect(written == bytes.count)
            #expect(ByteBuffer.varint32Size(value) == bytes.count)
            #expect(try buffer.readVarint32() == value)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func edgeValuesRoundTrip64() throws {
        let values: [Int64] = [
            0, 1, -1, 63, -64, 64, -65, 8191, 8192, Int64(Int32.max), Int64(Int32.min), Int64.max, Int64.min,
            Int64.max - 1, Int64.min + 1, 1 << 56, -(1 << 56),
        ]
        for value in values {
            var buffer = ByteBuffer()
            buffer.writeVarint64(value)
            #expect(buffer.readableBytes == ByteBuffer.varint64Size(value))
            #expect(buffer.readableBytes <= 10)
            #expect(try buffer.readVarint64() == value)
        }
        var maxBuffer = ByteBuffer()
        maxBuffer.writeVarint64(Int64.min)
        #expect(Array(maxBuffer.readableBytesView) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    }

    @Test func truncatedVarintThrows() {
        var buffer = ByteBuffer(bytes: [0x80, 0x80])
        #expect(throws: RecordBatchError.self) { try buffer.readVarint32() }
        var empty = ByteBuffer()
        #expect(throws: RecordBatchError.self) { try empty.readVarint64() }
    }

    @Test func overlongVarintThrows() {
        var six = ByteBuffer(bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
        #expect { try six.readVarint32() } throws: { ($0 as? RecordBatchError)?.code == .invalidVarint }
        var overflow = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect { try overflow.readVarint32() } throws: { ($0 as? RecordBatchError)?.code == .invalidVarint }
        var eleven = ByteBuffer(bytes: [UInt8](repeating: 0x80, count: 10) + [0x00])
        #expect { try eleven.readVarint64() } throws: { ($0 as? RecordBatchError)?.code == .invalidVarint }
        var overflow64 = ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 9) + [0x02])
        #expect { try overflow64.readVarint64() } throws: { ($0 as? RecordBatchError)?.code == .invalidVarint }
    }

    @Test func failedReadDoesNotMoveReaderIndex() {
        var buffer = ByteBuffer(bytes: [0x80, 0x80])
        _ = try? buffer.readVarint32()
        #expect(buffer.readerIndex == 0)
    }
}
