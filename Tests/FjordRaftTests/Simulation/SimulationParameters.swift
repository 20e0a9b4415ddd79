import FjordRaft
import FjordTestSupport
import KafkaProtocol

/// The shape of one simulated run: the cluster, the Raft timers, how often the driver ticks, fsyncs and snapshots,
/// how often clients propose, and how long the run lasts. The Raft timers are Kafka's defaults scaled down ten- to
/// twentyfold (elections every ~100 ms instead of ~1 s) so that a short simulated run holds many elections; the
/// ratios between them are Kafka's (fetch timeout = 2 × election timeout, backoff max = election timeout).
struct SimulationParameters {
    var voterCount: Int
    var observerCount: Int

    var electionTimeoutMs: Int64 = 100
    var electionBackoffMaxMs: Int64 = 100
    var fetchTimeoutMs: Int64 = 200
    var requestTimeoutMs: Int64 = 150
    var retryBackoffMs: Int64 = 10
    var fetchMaxWaitMs: Int64 = 40
    /// Small so that catching up takes several fetches and snapshots take several FetchSnapshot chunks.
    var fetchMaxBytes: Int = 2048

    /// The driver ticks each node after a delay drawn from here (milliseconds).
    var tickIntervalMs: ClosedRange<Int64> = 5...12
    /// A simulated fsync completes after a delay drawn from here.
    var fsyncDelayMs: ClosedRange<Int64> = 1...6
    /// Clients propose to every node that believes it leads after a delay drawn from here.
    var proposalIntervalMs: ClosedRange<Int64> = 15...50
    /// Off only in the test that proves the simulation catches a lying disk: fsync then reports the log persisted,
    /// but a crash loses everything fsynced since the start.
    var fsyncIsHonest = true
    /// Each node's driver snapshots its state machine after a delay drawn from here.
    var snapshotIntervalMs: ClosedRange<Int64> = 200...600

    /// The faulty part of the run (faults start and heal within it); a calm phase of `finalCalmMs` follows.
    var faultyDurationMs: Int64 = 1_600
    /// How many election rounds (timeout, randomized wait, backoff) the liveness bound allows for split votes.
    var electionRounds: Int64 = 3

    init(voterCount: Int, observerCount: Int) {
        self.voterCount = voterCount
        self.observerCount = observerCount
    }

    var voterIDs: [NodeID] { (1...voterCount).map { NodeID($0) } }
    var observerIDs: [NodeID] { (0..<observerCount).map { NodeID(101 + $0) } }
    var nodeIDs: [NodeID] { voterIDs + observerIDs }

    /// How long after a majority of voters is up, connected and on a loss-free network a proposal made from then on
    /// must be committed: followers notice a lost leader after the fetch timeout, an in-flight request may need its
    /// timeout to be resent, then each election round takes at most two election timeouts (the randomized wait and
    /// the vote) plus the backoff, and committing takes a proposal interval, a parked fetch and a few round trips
    /// and fsyncs. Split votes repeat with a probability that shrinks geometrically; `electionRounds` rounds make a
    /// false alarm rarer than one in millions of windows.
    var livenessBoundMs: Int64 {
        let election =
            fetchTimeoutMs + requestTimeoutMs + electionRounds * (2 * electionTimeoutMs + electionBackoffMaxMs)
        let commit =
            proposalIntervalMs.upperBound + 2 * fetchMaxWaitMs + 4
            * (tickIntervalMs.upperBound
                + SimulatedNetwork.Weather.calm.delayMs.upperBound + fsyncDelayMs.upperBound)
        return election + commit
    }

    /// The final calm phase: long enough for the liveness bound and for every node to catch up after it.
    var finalCalmMs: Int64 { livenessBoundMs + catchUpMs }

    /// After the liveness bound of the final calm phase, every running node must have applied everything committed
    /// by then within this long.
    var catchUpMs: Int64 { 3 * fetchTimeoutMs }

    func directoryID(of node: NodeID) -> KafkaUUID { KafkaUUID(high: 0xF10D, low: UInt64(node)) }

    var voterKeys: [ReplicaKey] { voterIDs.map { ReplicaKey(id: $0, directoryID: directoryID(of: $0)) } }

    func configuration(of node: NodeID) -> RaftConfiguration {
        var configuration = RaftConfiguration(
            nodeID: node, directoryID: directoryID(of: node), voters: voterKeys, clusterID: "fjord-raft-simulation")
        configuration.electionTimeoutMs = electionTimeoutMs
        configuration.electionBackoffMaxMs = electionBackoffMaxMs
        configuration.fetchTimeoutMs = fetchTimeoutMs
        configuration.requestTimeoutMs = requestTimeoutMs
        configuration.retryBackoffMs = retryBackoffMs
        configuration.fetchMaxWaitMs = fetchMaxWaitMs
        configuration.fetchMaxBytes = fetchMaxBytes
        return configuration
    }

    /// The parameters of a seeded run: 3 or 5 voters and 1 or 2 observers.
    static func random(using generator: inout SeededGenerator) -> SimulationParameters {
        SimulationParameters(
            voterCount: generator.next(below: 2) == 0 ? 3 : 5, observerCount: 1 + generator.next(below: 2))
    }
}
