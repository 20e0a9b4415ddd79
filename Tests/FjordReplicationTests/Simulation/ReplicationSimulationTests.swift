import Foundation
import Testing

/// The seeds the simulation runs: 0..<500 by default; `REPLICATION_SEED=N` replays one, `REPLICATION_SEEDS=a..b`
/// (both inclusive) runs a range for a soak.
enum ReplicationSeeds {
    static let defaultCount: UInt64 = 500

    static func fromEnvironment() -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["REPLICATION_SEED"].flatMap(UInt64.init) { return [seed] }
        if let range = environment["REPLICATION_SEEDS"] {
            let bounds = range.replacingOccurrences(of: "...", with: "..").split(
                separator: ".", omittingEmptySubsequences: true)
            if bounds.count == 2, let low = UInt64(bounds[0]), let high = UInt64(bounds[1]), low <= high {
                return Array(low...high)
            }
            preconditionFailure("REPLICATION_SEEDS=\(range): expected a..b (both inclusive)")
        }
        return Array(0..<defaultCount)
    }
}

/// The seeded simulation of one partition's replication (see `ReplicationSimulation`): 3 replicas with
/// min.insync.replicas 2, or 5 with 2 or 3; a fault schedule, then a healthy phase in which produces must succeed,
/// then a quiet end in which every replica must converge. Every invariant is checked after every event; a failure
/// names the invariant and the seed, and shows the milestones and last events of a traced replay.
@Suite struct ReplicationSimulationTests {
    @Test(arguments: ReplicationSeeds.fromEnvironment())
    func seededRun(seed: UInt64) {
        // Flow: 1. draw the cluster and the faults from the seed; 2. run them with producers writing acks=all and
        // acks=1, checking every invariant after every event; 3. at the end, every acknowledged record is in place
        // and every replica holds the leader's log.
        do {
            var simulation = try ReplicationSimulation.seeded(seed)
            try simulation.runToEnd()
            if ProcessInfo.processInfo.environment["REPLICATION_VERBOSE"] != nil {
                print(
                    "Replication simulation seed \(seed): \(simulation.parameters.replicaCount) replicas, min ISR "
                        + "\(simulation.parameters.minInsyncReplicas), \(simulation.controller.elections) elections, "
                        + "\(simulation.statistics), \(simulation.liveness.progressChecks) liveness checks (longest "
                        + "\(simulation.liveness.longestWaitMs) ms), \(simulation.checker.excusedLosses.count) "
                        + "acknowledged records lost with every ISR member's power")
            }
        } catch {
            Issue.record(Comment(rawValue: Self.report(seed: seed, violation: error)))
        }
    }

    @Test func aSeedReplaysExactly() throws {
        // Flow: the same seed run twice (once traced) gives the same run: statistics, controller state, logs.
        func run(tracing: Bool) throws -> (SimulationStatistics, String, [Int64]) {
            var simulation = try ReplicationSimulation.seeded(77, tracing: tracing)
            try simulation.runToEnd()
            let ends = simulation.parameters.replicaIDs.map { simulation.replicas[$0].log.logEndOffset }
            return (simulation.statistics, simulation.controller.registration.description, ends)
        }
        let first = try run(tracing: false)
        let second = try run(tracing: true)
        #expect(first.0 == second.0)
        #expect(first.1 == second.1)
        #expect(first.2 == second.2 && first.2[0] > 0)
    }

    /// The failure message: the violation, how to replay it, the run's milestones and its last events.
    static func report(seed: UInt64, violation: InvariantViolation) -> String {
        var traced: ReplicationSimulation?
        do {
            traced = try ReplicationSimulation.seeded(seed, tracing: true)
            try traced!.runToEnd()
        } catch {}
        let milestones = traced?.milestones.suffix(100).joined(separator: "\n  ") ?? "(none)"
        let tail = traced?.trace?.suffix(50).joined(separator: "\n  ") ?? "(no trace)"
        return """
            Replication simulation seed \(seed) failed: \(violation)
            Replay: REPLICATION_SEED=\(seed) swift test --filter FjordReplicationTests
            \(traced.map { "Statistics: \($0.statistics)" } ?? "")
            Milestones:
              \(milestones)
            Last events:
              \(tail)
            """
    }
}
