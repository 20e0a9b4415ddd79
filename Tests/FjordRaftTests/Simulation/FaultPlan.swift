import FjordRaft
import FjordTestSupport

/// A seed's fault schedule: episodes of crashes, graceful shutdowns, partitions (symmetric, asymmetric, the leader
/// cut off), and lossy weather, each healed after a while, sometimes overlapping, sometimes separated by calm long
/// enough for the liveness check to demand progress. Everything heals at `faultyDurationMs`.
enum FaultPlan {
    static func make(parameters: SimulationParameters, using generator: inout SeededGenerator)
        -> [(time: Int64, action: FaultAction)]
    {
        var plan: [(time: Int64, action: FaultAction)] = []
        var time = Int64.random(in: 200...600, using: &generator)
        while time < parameters.faultyDurationMs {
            let length = Int64.random(in: 50...700, using: &generator)
            for (offset, action) in episode(length: length, parameters: parameters, using: &generator) {
                plan.append((time + offset, action))
            }
            switch generator.next(below: 4) {
            case 0: time += Int64.random(in: 0...length, using: &generator)  // overlapping
            case 1: time += length + parameters.livenessBoundMs + Int64.random(in: 0...200, using: &generator)
            default: time += length + Int64.random(in: 0...400, using: &generator)
            }
        }
        plan.append((parameters.faultyDurationMs, .healNetwork))
        plan.append((parameters.faultyDurationMs, .restartAll))
        return plan
    }

    /// One episode: its actions, at offsets from its start; it heals itself by `length` (crashed nodes restart by
    /// then).
    private static func episode(length: Int64, parameters: SimulationParameters, using generator: inout SeededGenerator)
        -> [(Int64, FaultAction)]
    {
        let nodes = parameters.nodeIDs
        let voters = parameters.voterIDs
        switch generator.next(below: 100) {
        case 0..<20:
            // Crash up to a minority of voters and maybe an observer; each restarts at its own time.
            let victims =
                Array(voters.shuffled(using: &generator).prefix(1 + generator.next(below: voters.count / 2)))
                + (generator.next(below: 3) == 0 ? [parameters.observerIDs.randomElement(using: &generator)!] : [])
            return victims.flatMap { node in
                [
                    (Int64(0), FaultAction.crash(node)),
                    (Int64.random(in: 10...length, using: &generator), .restart(node)),
                ]
            }
        case 20..<32:
            return [(0, .crashLeader), (length, .restartAll)]
        case 32..<37:
            // Every voter crashes; they come back one by one.
            return voters.map { (0, FaultAction.crash($0)) }
                + voters.map { (Int64.random(in: 10...length, using: &generator), FaultAction.restart($0)) }
        case 37..<45:
            return [(0, .resignLeader), (length, .restartAll)]
        case 45..<60:
            let shuffled = nodes.shuffled(using: &generator)
            let cut = 1 + generator.next(below: nodes.count - 1)
            return [(0, .partition(Array(shuffled[..<cut]), Array(shuffled[cut...]))), (length, .healNetwork)]
        case 60..<72:
            return [(0, .isolateLeader(keepObservers: generator.next(below: 2) == 0)), (length, .healNetwork)]
        case 72..<84:
            let links = (0..<(1 + generator.next(below: 4))).map { _ in
                let pair = nodes.shuffled(using: &generator)
                return SimulatedNetwork.Link(from: pair[0], to: pair[1])
            }
            return [(0, .cutOneWay(links)), (length, .healNetwork)]
        default:
            let weather = SimulatedNetwork.Weather(
                delayMs: 1...Int64.random(in: 10...120, using: &generator), dropPercent: generator.next(below: 40),
                duplicatePercent: generator.next(below: 10))
            return [(0, .weather(weather)), (length, .healNetwork)]
        }
    }
}
