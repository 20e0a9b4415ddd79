import FjordTestSupport
import KafkaProtocol

/// The simulated network between brokers and the controller: each message gets its own delay (so messages overtake
/// each other), may be dropped, and is lost when its link is cut, at sending or on arrival. Cuts are directed.
/// Producers are not on it: clients always reach every broker (an isolated leader still takes writes).
struct SimulatedNetwork {
    struct Weather: Equatable, CustomStringConvertible {
        var delayMs: ClosedRange<Int64>
        var dropPercent: Int

        /// No loss, short delays: the condition under which liveness is required.
        static let calm = Weather(delayMs: 1...4, dropPercent: 0)

        var description: String { "delay \(delayMs.lowerBound)-\(delayMs.upperBound) ms, \(dropPercent)% dropped" }
    }

    struct Link: Hashable {
        var from: NodeID
        var to: NodeID
    }

    var weather = Weather.calm
    private(set) var cutLinks: Set<Link> = []

    var isHealthy: Bool { weather == .calm && cutLinks.isEmpty }

    func isCut(from: NodeID, to: NodeID) -> Bool { cutLinks.contains(Link(from: from, to: to)) }

    mutating func cut(from: NodeID, to: NodeID) { cutLinks.insert(Link(from: from, to: to)) }

    mutating func partition(_ groupA: [NodeID], _ groupB: [NodeID]) {
        for a in groupA {
            for b in groupB where a != b {
                cut(from: a, to: b)
                cut(from: b, to: a)
            }
        }
    }

    mutating func healAll() {
        cutLinks = []
        weather = .calm
    }

    /// The delay after which a message sent now arrives, nil when it is lost.
    func deliveryDelay(from: NodeID, to: NodeID, using generator: inout SeededGenerator) -> Int64? {
        if isCut(from: from, to: to) { return nil }
        if weather.dropPercent > 0, generator.next(below: 100) < weather.dropPercent { return nil }
        return Int64.random(in: weather.delayMs, using: &generator)
    }
}
