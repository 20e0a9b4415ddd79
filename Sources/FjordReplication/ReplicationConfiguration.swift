/// The settings the replication core reads. Durations are in the core's own milliseconds (time is passed in).
public struct ReplicationConfiguration: Sendable, Hashable {
    /// A follower that has not caught up to the leader's log end within this long leaves the ISR.
    /// Kafka: `replica.lag.time.max.ms`. Default 30 s.
    public var replicaLagTimeMaxMs: Int64 = 30_000

    /// The smallest ISR with which an `acks=all` produce is accepted, and (KIP-966, Kafka 4) below which the high
    /// watermark does not advance. Kafka: `min.insync.replicas`. Default 1.
    public var minInsyncReplicas: Int = 1

    public init(replicaLagTimeMaxMs: Int64 = 30_000, minInsyncReplicas: Int = 1) {
        self.replicaLagTimeMaxMs = replicaLagTimeMaxMs
        self.minInsyncReplicas = minInsyncReplicas
    }
}
