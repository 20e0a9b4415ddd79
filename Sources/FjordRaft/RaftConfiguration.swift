import KafkaProtocol

/// How a Raft node behaves: its identity, the initial voter set and the timers. Property docs name the Kafka key
/// and its default.
public struct RaftConfiguration: Sendable {
    /// This node. Kafka: `node.id`.
    public var nodeID: NodeID
    /// The log directory this replica runs from (KIP-853: `directory.id` in `meta.properties`).
    public var directoryID: KafkaUUID
    /// The initial voter set (static `controller.quorum.voters`, or the bootstrap voters). Once the log holds a
    /// `VotersRecord`, the latest one wins. A node whose key is not in the voter set is an observer.
    public var voters: [ReplicaKey]
    /// How long a follower waits without hearing from a leader, and how long a candidate waits for votes, before it
    /// starts an election. Kafka: `controller.quorum.election.timeout.ms`, default 1000.
    public var electionTimeoutMs: Int64 = 1000
    /// The upper bound of the randomized wait before a new election after a failed one (and the base of the
    /// preferred-successor backoff). Kafka: `controller.quorum.election.backoff.max.ms`, default 1000.
    public var electionBackoffMaxMs: Int64 = 1000
    /// A follower that has not had a successful Fetch from its leader for this long starts an election; a leader
    /// that has not been fetched from by a majority for 1.5 times this long resigns (check-quorum).
    /// Kafka: `controller.quorum.fetch.timeout.ms`, default 2000.
    public var fetchTimeoutMs: Int64 = 2000
    /// A request without an answer after this long is sent again. Kafka: `controller.quorum.request.timeout.ms`,
    /// default 2000.
    public var requestTimeoutMs: Int64 = 2000
    /// The wait before retrying after an error answer. Kafka: `controller.quorum.retry.backoff.ms`, default 20.
    public var retryBackoffMs: Int64 = 20
    /// How long the leader parks a Fetch that finds nothing new before answering it empty (Kafka's
    /// `KafkaRaftClient.MAX_FETCH_WAIT_MS`, 500; not configurable there).
    public var fetchMaxWaitMs: Int64 = 500
    /// The byte bound of one Fetch answer and one FetchSnapshot chunk (Kafka's `MAX_FETCH_SIZE_BYTES`, 8 MiB).
    /// At least one batch is always sent, whatever its size.
    public var fetchMaxBytes: Int = 8 << 20
    /// The cluster id every request carries and every node checks (INCONSISTENT_CLUSTER_ID otherwise).
    public var clusterID: String

    public init(nodeID: NodeID, directoryID: KafkaUUID, voters: [ReplicaKey], clusterID: String) {
        self.nodeID = nodeID
        self.directoryID = directoryID
        self.voters = voters
        self.clusterID = clusterID
    }

    /// This node's replica key.
    public var localKey: ReplicaKey { ReplicaKey(id: nodeID, directoryID: directoryID) }
}
