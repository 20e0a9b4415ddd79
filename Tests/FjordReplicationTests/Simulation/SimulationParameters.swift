import FjordReplication
import FjordTestSupport
import KafkaProtocol

/// The shape of one simulated run. Kafka's timers scaled down about a hundredfold (replica.lag.time.max.ms 30 s →
/// 150 ms, broker.session.timeout.ms 9 s → 120 ms) so a run of a few seconds holds many shrinks, expansions and elections.
struct SimulationParameters {
    var replicaCount: Int
    var minInsyncReplicas: Int

    var replicaLagTimeMaxMs: Int64 = 150
    var sessionTimeoutMs: Int64 = 120
    var heartbeatIntervalMs: Int64 = 30
    var controllerTickMs: Int64 = 10
    /// The pause between a fetch's answer and the next fetch, normally and for a lagging follower.
    var fetchIntervalMs: ClosedRange<Int64> = 2...8
    var slowFetchIntervalMs: ClosedRange<Int64> = 150...400
    /// A fetch unanswered this long is sent again.
    var fetchTimeoutMs: Int64 = 50
    var fetchBackoffMs: Int64 = 20
    /// Small so that catching up takes several fetches.
    var fetchMaxRecords = 16
    var leaderTickMs: ClosedRange<Int64> = 15...30
    /// An AlterPartition unanswered this long is sent again (Kafka's AlterPartitionManager retries).
    var alterPartitionRetryMs: Int64 = 100
    var flushIntervalMs: ClosedRange<Int64> = 10...80
    var produceIntervalMs: ClosedRange<Int64> = 4...15
    var produceTimeoutMs: Int64 = 400
    /// The share of produces with acks=all (the rest are acks=1), in percent.
    var acksAllPercent = 75

    var faultyDurationMs: Int64 = 1_500
    /// After the cluster becomes healthy (every replica up and registered, no cut, calm network, no slow follower):
    /// how long until fencing, elections, catch-up and ISR expansion have settled...
    var settleMs: Int64 = 600
    /// ...after which every acks=all produce must be acknowledged within this long.
    var livenessBoundMs: Int64 = 250
    /// Producing stops this long after the faults end; the run ends `quietMs` later.
    var producingAfterFaultsMs: Int64 { settleMs + 2 * livenessBoundMs }
    var quietMs: Int64 = 300

    var replicaIDs: [NodeID] { (1...replicaCount).map { NodeID($0) } }
    static let controllerID: NodeID = 0

    var configuration: ReplicationConfiguration {
        ReplicationConfiguration(replicaLagTimeMaxMs: replicaLagTimeMaxMs, minInsyncReplicas: minInsyncReplicas)
    }

    var endMs: Int64 { faultyDurationMs + producingAfterFaultsMs + quietMs }

    /// 3 replicas with min.insync.replicas 2 (two runs in three), or 5 with 2 or 3.
    static func random(using generator: inout SeededGenerator) -> SimulationParameters {
        if generator.next(below: 3) < 2 { return SimulationParameters(replicaCount: 3, minInsyncReplicas: 2) }
        return SimulationParameters(replicaCount: 5, minInsyncReplicas: 2 + generator.next(below: 2))
    }
}
