import Foundation

/// SplitMix64: a small seeded generator, the same sequence on every platform, so that a randomized test replays
/// exactly from the seed it printed. The one generator of every test target (and of the storage crash writer).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound`.
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// The seed of a randomized test: the environment variable `variable` when set (to replay a failure), else a
    /// fresh one. Printed with the command that replays it.
    public static func seed(from variable: String, test: String) -> UInt64 {
        let seed =
            ProcessInfo.processInfo.environment[variable].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max >> 1)
        print("\(test): seed \(seed) (replay with \(variable)=\(seed))")
        return seed
    }
}
