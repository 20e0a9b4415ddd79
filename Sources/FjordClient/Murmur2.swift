/// Kafka's murmur2 hash, exactly as the Java client's `Utils.murmur2` computes it (seed 0x9747b28c), so that a key
/// lands in the same partition as with every Java-compatible producer: `toPositive(murmur2(key)) % numPartitions`.
public enum Murmur2 {
    /// The 32-bit murmur2 hash of `bytes`, as a signed Int32 like Java's.
    public static func hash(_ bytes: some Collection<UInt8>) -> Int32 {
        let data = Array(bytes)
        let length = data.count
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = seed ^ UInt32(truncatingIfNeeded: length)
        let length4 = length / 4
        for i in 0..<length4 {
            let i4 = i * 4
            var k =
                UInt32(data[i4]) | UInt32(data[i4 + 1]) << 8 | UInt32(data[i4 + 2]) << 16
                | UInt32(data[i4 + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = length4 * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// Java's `Utils.toPositive`: clears the sign bit (not `abs`, which would overflow for Int32.min).
    public static func toPositive(_ value: Int32) -> Int32 {
        value & 0x7fff_ffff
    }

    /// The partition the Java client's default partitioner picks for a non-null key.
    public static func partition(forKey key: some Collection<UInt8>, partitionCount: Int) -> Int32 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        return toPositive(hash(key)) % Int32(partitionCount)
    }
}
