/// A Kafka `uuid` field: 16 bytes on the wire, big-endian halves.
///
/// Kafka reserves the all-zero value as "no id" (`Uuid.ZERO_UUID`), which is also the
/// default of every uuid field in the specs.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The all-zero id Kafka uses for "unset".
    public static let zero = KafkaUUID(high: 0, low: 0)

    /// A random version-4 id, the way Kafka makes topic ids.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> KafkaUUID {
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & ~0xF000) | 0x4000
        low = (low & ~(0xC000_0000_0000_0000 as UInt64)) | 0x8000_0000_0000_0000
        return KafkaUUID(high: high, low: low)
    }

    public static func random() -> KafkaUUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// Kafka prints ids in URL-safe base64 without padding (22 characters).
    public var description: String { base64URLEncoded }

    public var base64URLEncoded: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift)))
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var output = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << UInt32(16 - 8 * offset) }
            let characters = chunk.count + 1
            for position in 0..<characters {
                output.append(alphabet[Int((value >> UInt32(18 - 6 * position)) & 0x3F)])
            }
            index += 3
        }
        return output
    }

    /// Parses the 22-character URL-safe base64 form; nil if it is not one.
    public init?(base64URLEncoded text: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let characters = Array(text)
        guard characters.count == 22 else { return nil }
        var bits: UInt32 = 0
        var bitCount = 0
        var bytes = [UInt8]()
        for character in characters {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            bits = (bits << 6) | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(bitCount)))
            }
        }
        guard bytes.count == 16 else { return nil }
        self.high = bytes[0..<8].reduce(0) { ($0 << 8) | UInt64($1) }
        self.low = bytes[8..<16].reduce(0) { ($0 << 8) | UInt64($1) }
    }
}
