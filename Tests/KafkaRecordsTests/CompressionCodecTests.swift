import FjordTestSupport
import NIOCore
import Testing

@testable import KafkaRecords

@Suite struct CompressionCodecTests {
    static let inputs: [ByteBuffer] = {
        var generator = SeededGenerator(seed: 5)
        let random = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = String(repeating: "the quick brown fox jumps over the lazy dog ", count: 5000)
        return [ByteBuffer(), ByteBuffer(string: "x"), ByteBuffer(bytes: random), ByteBuffer(string: text)]
    }()

    @Test(arguments: CompressionCodec.allCases)
    func roundTrip(codec: CompressionCodec) throws {
        for input in Self.inputs {
            let compressed = try codec.compress(input)
            #expect(try codec.decompress(compressed) == input, "\(codec) \(input.readableBytes) bytes")
        }
    }

    @Test func gzipWritesTheGzipFormat() throws {
        let compressed = try CompressionCodec.gzip.compress(ByteBuffer(string: "hello"))
        #expect(Array(compressed.readableBytesView.prefix(3)) == [0x1F, 0x8B, 0x08])
    }

    @Test func lz4WritesTheFrameFormat() throws {
        let compressed = try CompressionCodec.lz4.compress(ByteBuffer(string: "hello"))
        #expect(Array(compressed.readableBytesView.prefix(4)) == [0x04, 0x22, 0x4D, 0x18])
    }

    @Test func zstdWritesAStandardFrame() throws {
        let compressed = try CompressionCodec.zstd.compress(ByteBuffer(string: "hello"))
        #expect(Array(compressed.readableBytesView.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
    }

    @Test func snappyWritesXerialFraming() throws {
        let input = ByteBuffer(string: String(repeating: "abc", count: 30_000))  // 90 000 bytes: three blocks
        var compressed = try CompressionCodec.snappy.compress(input)
        #expect(compressed.readBytes(length: 8) == CompressionCodec.xerialMagic)
        #expect(compressed.readInteger(as: Int32.self) == 1)
        #expect(compressed.readInteger(as: Int32.self) == 1)
        var blocks = 0
        while let length = compressed.readInteger(as: Int32.self) {
            compressed.moveReaderIndex(forwardBy: Int(length))
            blocks += 1
        }
        #expect(blocks == 3)
    }

    @Test func snappyReadsRawAndXerial() throws {
        // Raw snappy of "hello hello hello": uncompressed length 17, a literal "hello " and a copy.
        let raw = ByteBuffer(bytes: [0x11, 0x14, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x20, 0x1D, 0x06])
        #expect(try CompressionCodec.snappy.decompress(raw) == ByteBuffer(string: "hello hello hello"))
        var xerial = ByteBuffer(bytes: CompressionCodec.xerialMagic)
        xerial.writeInteger(Int32(1))
        xerial.writeInteger(Int32(1))
        for _ in 0..<2 {
            xerial.writeInteger(Int32(raw.readableBytes))
            xerial.writeImmutableBuffer(raw)
        }
        let expected = ByteBuffer(string: "hello hello hellohello hello hello")
        #expect(try CompressionCodec.snappy.decompress(xerial) == expected)
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func garbageThrows(codec: CompressionCodec) {
        var generator = SeededGenerator(seed: 11)
        for size in [0, 1, 4, 16, 100, 4096] {
            let garbage = ByteBuffer(bytes: (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
            #expect(throws: RecordBatchError.self, "\(codec) \(size) garbage bytes") {
                try codec.decompress(garbage)
            }
        }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func truncatedStreamsThrow(codec: CompressionCodec) throws {
        let compressed = try codec.compress(Self.inputs[3])
        for cut in [1, 5, compressed.readableBytes / 2, compressed.readableBytes - 1] {
            let prefix = compressed.getSlice(at: compressed.readerIndex, length: cut)!
            #expect(throws: RecordBatchError.self, "\(codec) cut at \(cut)") { try codec.decompress(prefix) }
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func decompressionIsBounded(codec: CompressionCodec) throws {
        let bomb = try codec.compress(ByteBuffer(repeating: 0, count: 2 << 20))
        #expect { try codec.decompress(bomb, maxDecompressedBytes: 1 << 20) } throws: {
            ($0 as? RecordBatchError)?.code == .decompressedSizeLimitExceeded
        }
        #expect(try codec.decompress(bomb, maxDecompressedBytes: 2 << 20).readableBytes == 2 << 20)
        #expect(try codec.decompress(bomb, maxDecompressedBytes: .max).readableBytes == 2 << 20)
        #expect(throws: RecordBatchError.self) { try codec.decompress(bomb, maxDecompressedBytes: -1) }
    }
}
