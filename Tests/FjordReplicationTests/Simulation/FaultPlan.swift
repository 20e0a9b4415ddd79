import FjordTestSupport
import KafkaProtocol

/// A seed's fault schedule: episodes of process crashes and power losses (a crashed broker restarts within its
/// episode), leader crashes, isolated leaders (clients still reach them), partitions, one-way cuts, lagging
/// followers and lossy weather, sometimes overlapping, sometimes with calm between them long enough for liveness to
/// be required. Everything heals and restarts at `faultyDurationMs`.
enum FaultPlan {
    static func make(parameters: SimulationParameters, using generator: inout SeededGenerator)
        -> [(time: Int64, action: FaultAction)]
    {
        var plan: [(time: Int64, action: FaultAction)] = []
        var time = Int64.random(in: 100...400, using: &generator)
        while time < parameters.faultyDurationMs {
            let length = Int64.random(in: 50...500, using: &generator)
            for (offset, action) in episode(length: length, parameters: parameters, using: &generator) {
                plan.append((time + offset, action))
            }
            switch generator.next(below: 4) {
            case 0: time += Int64.random(in: 0...length, using: &generator)  // overlapping
            case 1:
                time +=
                    length + parameters.settleMs + parameters.livenessBoundMs
                    + Int64.random(in: 0...200, using: &generator)
            default: time += length + Int64.random(in: 0...300, using: &generator)
            }
        }
        plan.append((parameters.faultyDurationMs, .healNetwork))
        plan.append((parameters.faultyDurationMs, .restartAll))
        return plan
    }

    private static func episode(length: Int64, parameters: SimulationParameters, using generator: inout SeededGenerator)
        -> [(Int64, FaultAction)]
    {
        let ids = parameters.replicaIDs
        // Power losses are rarer than process crashes (which keep the page cache).
        func powerLoss() -> Bool { generator.next(below: 100) < 30 }
        switch generator.next(below: 100) {
        case 0..<22:
            let victims = Array(ids.shuffled(using: &generator).prefix(1 + generator.next(below: ids.count - 1)))
            return victims.flatMap { id in
                [
                    (Int64(0), FaultAction.crash(id, powerLoss: powerLoss())),
                    (Int64.random(in: 10...length, using: &generator), .restart(id)),
                ]
            }
        case 22..<40:
            return [(0, .crashLeader(powerLoss: powerLoss())), (length, .restartAll)]
        case 40..<52:
            return [(0, .isolateLeader), (length, .healNetwork)]
        case 52..<62:
            let shuffled = ([SimulationParameters.controllerID] + ids).shuffled(using: &generator)
            let cut = 1 + generator.next(below: shuffled.count - 1)
            return [(0, .partition(Array(shuffled[..<cut]), Array(shuffled[cut...]))), (length, .healNetwork)]
        case 62..<70:
            let pair = ([SimulationParameters.controllerID] + ids).shuffled(using: &generator)
            return [(0, .cutOneWay(from: pair[0], to: pair[1])), (length, .healNetwork)]
        case 70..<85:
            let id = ids.randomElement(using: &generator)!
            return [(0, .slowFollower(id)), (length + parameters.replicaLagTimeMaxMs, .healNetwork)]
        default:
            let weather = SimulatedNetwork.Weather(
                delayMs: 1...Int64.random(in: 5...60, using: &generator), dropPercent: generator.next(below: 30))
            return [(0, .weather(weather)), (length, .healNetwork)]
        }
    }
}
