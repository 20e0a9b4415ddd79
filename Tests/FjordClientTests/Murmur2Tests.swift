import Testing

@testable import FjordClient

/// Key → hash → partition vectors computed with kafka-python's `kafka.partitioner.default.murmur2` (which matches
/// Java's `Utils.murmur2`; "21" and "foobar" are also in Kafka's own UtilsTest).
struct Murmur2Tests {
    static let vectors: [(String, UInt32, [Int32])] = [
        ("", 275_646_681, [0, 2, 1]),
        ("a", 2_731_586_172, [1, 5, 4]),
        ("ab", 316_155_434, [2, 0, 4]),
        ("abc", 479_470_107, [0, 4, 7]),
        ("abcd", 2_971_317_748, [2, 5, 0]),
        ("hello", 2_132_663_229, [0, 4, 9]),
        ("kafka", 3_496_464_228, [1, 3, 0]),
        ("key-0", 29_210_041, [1, 0, 1]),
        ("key-1", 193_331_640, [0, 5, 0]),
        ("key-42", 4_107_880_775, [0, 3, 7]),
        ("The quick brown fox jumps over the lazy dog", 495_243_318, [0, 3, 8]),
        ("21", 3_321_034_988, [0, 3, 0]),
        ("foobar", 3_504_634_814, [0, 0, 6]),
    ]

    @Test func hashesMatchTheJavaClient() {
        for (key, hash, _) in Self.vectors {
            #expect(Murmur2.hash(Array(key.utf8)) == Int32(bitPattern: hash), "key \(key)")
        }
        // Kafka's UtilsTest writes these as signed Java ints.
        #expect(Murmur2.hash(Array("21".utf8)) == -973_932_308)
        #expect(Murmur2.hash(Array("foobar".utf8)) == -790_332_482)
    }

    @Test func keysLandWhereTheJavaClientPutsThem() {
        for (key, _, partitions) in Self.vectors {
            for (count, expected) in zip([3, 7, 10], partitions) {
                #expect(
                    Murmur2.partition(forKey: Array(key.utf8), partitionCount: count) == expected, "\(key) of \(count)")
            }
        }
    }

    @Test func toPositiveClearsTheSignBit() {
        #expect(Murmur2.toPositive(Int32.min) == 0)
        #expect(Murmur2.toPositive(-1) == Int32.max)
        #expect(Murmur2.toPositive(5) == 5)
    }
}
