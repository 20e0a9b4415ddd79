import FjordRaft
import FjordTestSupport
import KafkaProtocol

/// The simulated network between the nodes: each message gets its own random delay (so messages overtake each
/// other), may be dropped or duplicated, and is lost when its link is cut, at sending or on arrival. Cuts are
/// directed: cutting `a → b` only, `a` still hears `b` (an asymmetric partition).
struct SimulatedNetwork {
    /// How the network behaves while no link is cut.
    struct Weather: Equatable, CustomStringConvertible {
        var delayMs: ClosedRange<Int64>
        var dropPercent: Int
        var duplicatePercent: Int

        /// No loss, short delays: the condition under which liveness is required.
        static let calm = Weather(delayMs: 1...6, dropPercent: 0, duplicatePercent: 1)

        var isLossy: Bool { dropPercent > 0 }

        var description: String {
            "delay \(delayMs.lowerBound)-\(delayMs.upperBound) ms, \(dropPercent)% dropped, "
                + "\(duplicatePercent)% duplicated"
        }
    }

    struct Link: Hashable {
        var from: NodeID
        var to: NodeID
    }

    var weather = Weather.calm
    private(set) var cutLinks: Set<Link> = []

    func isCut(from: NodeID, to: NodeID) -> Bool { cutLinks.contains(Link(from: from, to: to)) }

    /// Whether `a` and `b` hear each other.
    func areConnected(_ a: NodeID, _ b: NodeID) -> Bool { !isCut(from: a, to: b) && !isCut(from: b, to: a) }

    mutating func cut(from: NodeID, to: NodeID) { cutLinks.insert(Link(from: from, to: to)) }

    /// Cuts every link between the two groups, both ways.
    mutating func partition(_ groupA: [NodeID], _ groupB: [NodeID]) {
        for a in groupA {
            for b in groupB where a != b {
                cut(from: a, to: b)
                cut(from: b, to: a)
            }
        }
    }

    mutating func healAll() { cutLinks = [] }

    /// The delays after which copies of a message sent now arrive: none when it is dropped, two when duplicated.
    func deliveryDelays(from: NodeID, to: NodeID, using generator: inout SeededGenerator) -> [Int64] {
        if isCut(from: from, to: to) { return [] }
        if weather.dropPercent > 0, generator.next(below: 100) < weather.dropPercent { return [] }
        let copies = generator.next(below: 100) < weather.duplicatePercent ? 2 : 1
        return (0..<copies).map { _ in Int64.random(in: weather.delayMs, using: &generator) }
    }
}
