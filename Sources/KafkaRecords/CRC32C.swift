import CCRC32C
import NIOCore

/// CRC-32C (Castagnoli), the checksum Kafka record batch v2 stores over everything from `attributes` to the end.
///
/// Uses the SSE4.2 `crc32` instruction when the CPU has it and a slicing-by-8 table otherwise; both give identical
/// results. Checksums compose: `update(update(0, a), b) == checksum(a + b)`.
public enum CRC32C {
    /// Which implementation computes the checksum. Tests pin one; production code uses `.automatic`.
    public enum Implementation: Sendable, CaseIterable {
        /// The hardware instruction when available, otherwise software.
        case automatic
        /// The hardware instruction (falls back to software on CPUs without it; see `isHardwareAvailable`).
        case hardware
        /// The portable slicing-by-8 table implementation.
        case software
    }

    /// Whether this CPU runs the hardware path (SSE4.2 on x86_64).
    public static var isHardwareAvailable: Bool {
        fjord_crc32c_hardware_available() != 0
    }

    /// Continues `crc` (0 to start) over `bytes`.
    public static func update(
        _ crc: UInt32,
        _ bytes: UnsafeRawBufferPointer,
        implementation: Implementation = .automatic
    ) -> UInt32 {
        switch implementation {
        case .automatic:
            return fjord_crc32c_update(crc, bytes.baseAddress, bytes.count)
        case .hardware:
            return fjord_crc32c_update_hardware(crc, bytes.baseAddress, bytes.count)
        case .software:
            return fjord_crc32c_update_software(crc, bytes.baseAddress, bytes.count)
        }
    }

    /// Continues `crc` (0 to start) over the readable bytes of `buffer`.
    public static func update(
        _ crc: UInt32,
        _ buffer: ByteBuffer,
        implementation: Implementation = .automatic
    ) -> UInt32 {
        buffer.withUnsafeReadableBytes { update(crc, $0, implementation: implementation) }
    }

    /// Continues `crc` (0 to start) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: [UInt8], implementation: Implementation = .automatic) -> UInt32 {
        bytes.withUnsafeBytes { update(crc, $0, implementation: implementation) }
    }

    /// The checksum of `bytes`.
    public static func checksum(
        _ bytes: UnsafeRawBufferPointer,
        implementation: Implementation = .automatic
    ) -> UInt32 {
        update(0, bytes, implementation: implementation)
    }

    /// The checksum of the readable bytes of `buffer`.
    public static func checksum(_ buffer: ByteBuffer, implementation: Implementation = .automatic) -> UInt32 {
        update(0, buffer, implementation: implementation)
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8], implementation: Implementation = .automatic) -> UInt32 {
        update(0, bytes, implementation: implementation)
    }
}
