import FjordTestSupport
import NIOCore
import Testing

@testable import KafkaRecords

@Suite struct CRC32CTests {
    /// Published check values: the CRC catalogue's "123456789" and RFC 3720 appendix B.4.
    static let checkValues: [(name: String, bytes: [UInt8], crc: UInt32)] = [
        ("123456789", Array("123456789".utf8), 0xE306_9283),
        ("32 zeros", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 x 0xFF", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("0...31", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("31...0", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ("empty", [], 0),
    ]

    @Test(arguments: CRC32C.Implementation.allCases)
    func publishedCheckValues(implementation: CRC32C.Implementation) {
        for value in Self.checkValues {
            #expect(
                CRC32C.checksum(value.bytes, implementation: implementation) == value.crc,
                "\(value.name) with \(implementation)"
            )
            let buffer = ByteBuffer(bytes: value.bytes)
            #expect(CRC32C.checksum(buffer, implementation: implementation) == value.crc)
        }
    }

    @Test func hardwarePathIsAvailableOnX86() {
        #if arch(x86_64)
            // Every x86_64 CPU this project targets has SSE4.2; if this fails the hardware test above ran in software.
            #expect(CRC32C.isHardwareAvailable)
        #endif
    }

    @Test(arguments: CRC32C.Implementation.allCases)
    func chunkedUpdatesEqualOneShot(implementation: CRC32C.Implementation) {
        var generator = SeededGenerator(seed: 0xC3C3)
        let bytes = (0..<4099).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let oneShot = CRC32C.checksum(bytes, implementation: .software)
        for chunkSize in [1, 3, 7, 8, 9, 63, 64, 1000, 4099] {
            var crc: UInt32 = 0
            var start = 0
            while start < bytes.count {
                let end = min(start + chunkSize, bytes.count)
                crc = CRC32C.update(crc, Array(bytes[start..<end]), implementation: implementation)
                start = end
            }
            #expect(crc == oneShot, "chunk size \(chunkSize)")
        }
    }

    @Test func hardwareAndSoftwareAgreeOnUnalignedSlices() {
        var generator = SeededGenerator(seed: 99)
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes.withUnsafeBytes { raw in
            for start in 0..<16 {
                for length in [0, 1, 5, 8, 15, 16, 17, 100, 284] where start + length <= raw.count {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    #expect(
                        CRC32C.checksum(slice, implementation: .hardware)
                            == CRC32C.checksum(slice, implementation: .software)
                    )
                }
            }
        }
    }
}
