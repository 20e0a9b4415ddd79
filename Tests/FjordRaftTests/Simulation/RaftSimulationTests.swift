import FjordRaft
import Foundation
import KafkaProtocol
import Testing

/// The seeds the simulation runs: 0..<1000 by default; `RAFT_SEED=N` replays one seed, `RAFT_SEEDS=a..b` (or
/// `a...b`, inclusive) runs a range for a longer soak.
enum SimulationSeeds {
    static let defaultCount: UInt64 = 1000

    static func fromEnvironment() -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["RAFT_SEED"].flatMap(UInt64.init) { return [seed] }
        if let range = environment["RAFT_SEEDS"] {
            let bounds = range.replacingOccurrences(of: "...", with: "..").split(
                separator: ".", omittingEmptySubsequences: true)
            if bounds.count == 2, let low = UInt64(bounds[0]), let high = UInt64(bounds[1]), low <= high {
                return Array(low...high)
            }
            preconditionFailure("RAFT_SEEDS=\(range): expected a..b (both inclusive)")
        }
        return Array(0..<defaultCount)
    }
}

/// The seeded simulation of a FjordRaft cluster (see `RaftSimulation`): 3 or 5 voters and 1 or 2 observers per seed,
/// a fault schedule of crashes, graceful shutdowns, partitions (also asymmetric) and lossy weather, then a calm
/// phase; every invariant is checked after every event. A failure names the invariant and the seed, and shows the
/// last events of a traced replay.
@Suite struct RaftSimulationTests {
    @Test(arguments: SimulationSeeds.fromEnvironment())
    func seededRun(seed: UInt64) {
        // Flow: 1. draw the cluster and the fault schedule from the seed; 2. run the faulty part and the calm phase,
        // checking every invariant after every event; 3. at the end, check everything from scratch and that every
        // running node applied what was committed a while before.
        do {
            var simulation = try RaftSimulation.seeded(seed)
            try simulation.runToEnd()
            if ProcessInfo.processInfo.environment["RAFT_VERBOSE"] != nil {
                print(
                    "Raft simulation seed \(seed): \(simulation.parameters.voterCount) voters, "
                        + "\(simulation.parameters.observerCount) observers, \(simulation.statistics), "
                        + "\(simulation.liveness.progressChecks) liveness checks passed "
                        + "(longest wait \(simulation.liveness.longestWaitMs) ms)"
                )
            }
        } catch {
            Issue.record(Comment(rawValue: Self.report(seed: seed, violation: error)))
        }
    }

    @Test func aSeedReplaysExactly() throws {
        // Flow: the same seed run twice (once traced) gives the same run: the same statistics, committed log, leaders
        // and trace — nothing in the simulation or the core draws randomness it was not given.
        func run(tracing: Bool) throws -> (String, Int64, [Int32: NodeID], [Int64]) {
            var simulation = try RaftSimulation.seeded(4242, tracing: tracing)
            try simulation.runToEnd()
            let applied = simulation.parameters.nodeIDs.map { simulation.nodes[$0]!.stateMachine.appliedEndOffset }
            return (
                simulation.statistics.description, simulation.checker.ledger.endOffset, simulation.checker.leaders,
                applied
            )
        }
        let first = try run(tracing: false)
        let second = try run(tracing: true)
        #expect(first.0 == second.0)
        #expect(first.1 == second.1 && first.1 > 0)
        #expect(first.2 == second.2)
        #expect(first.3 == second.3)
    }

    /// The failure message: the violation, how to replay it, the run's milestones (faults, starts, crashes, role
    /// changes, truncations, installed snapshots) and its last events, from a traced replay.
    static func report(seed: UInt64, violation: InvariantViolation) -> String {
        var traced: RaftSimulation?
        do {
            traced = try RaftSimulation.seeded(seed, tracing: true)
            try traced!.runToEnd()
        } catch {}
        let milestones = traced?.milestones.suffix(120).joined(separator: "\n  ") ?? "(none)"
        let tail = traced?.trace?.suffix(40).joined(separator: "\n  ") ?? "(no trace)"
        return """
            Raft simulation seed \(seed) failed: \(violation)
            Replay: RAFT_SEED=\(seed) swift test --filter RaftSimulationTests
            \(traced.map { "Statistics: \($0.statistics)" } ?? "")
            Milestones:
              \(milestones)
            Last events:
              \(tail)
            """
    }
}
