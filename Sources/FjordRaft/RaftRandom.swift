/// SplitMix64, seeded once at init: the only randomness of the core (election backoffs, the voter an observer asks
/// first), so that a simulation replays exactly from its seed. The same sequence as the tests' `SeededGenerator`.
struct RaftRandom: Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (0 when `bound` is not positive).
    mutating func next(below bound: Int64) -> Int64 {
        guard bound > 0 else { return 0 }
        return Int64(next() % UInt64(bound))
    }
}
