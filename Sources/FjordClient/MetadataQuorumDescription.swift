import KafkaProtocol

/// The KRaft metadata quorum as its leader reports it (DescribeQuorum): who leads in which epoch, the high watermark
/// of `__cluster_metadata`, and how far each voter and observer has fetched. Kafka's `QuorumInfo`.
public struct MetadataQuorumDescription: Sendable, Equatable {
    /// One replica of the metadata log: a voter or an observer (a broker that only follows the log).
    public struct Replica: Sendable, Equatable {
        public var nodeID: Int32
        /// The replica's metadata directory id; nil when the leader does not know it (a static quorum, DescribeQuorum
        /// before v2).
        public var directoryID: KafkaUUID?
        /// The end offset of the replica's log as the leader last saw it; -1 when unknown.
        public var logEndOffset: Int64
        /// When the leader last got a Fetch from it, in ms since the epoch; nil when unknown (v0 or never).
        public var lastFetchTimestamp: Int64?
        /// When it last had fetched up to the leader's log end, in ms since the epoch; nil when unknown.
        public var lastCaughtUpTimestamp: Int64?

        public init(
            nodeID: Int32, directoryID: KafkaUUID? = nil, logEndOffset: Int64, lastFetchTimestamp: Int64? = nil,
            lastCaughtUpTimestamp: Int64? = nil
        ) {
            self.nodeID = nodeID
            self.directoryID = directoryID
            self.logEndOffset = logEndOffset
            self.lastFetchTimestamp = lastFetchTimestamp
            self.lastCaughtUpTimestamp = lastCaughtUpTimestamp
        }
    }

    /// A listener a node of the quorum serves (DescribeQuorum v2's `nodes`): `CONTROLLER://host:port`.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var name: String
        public var host: String
        public var port: Int

        public init(name: String, host: String, port: Int) {
            self.name = name
            self.host = host
            self.port = port
        }

        /// As Kafka prints a `RaftVoterEndpoint`: `NAME://host:port`, an IPv6 host in brackets.
        public var description: String { "\(name)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
    }

    public var leaderID: Int32
    public var leaderEpoch: Int32
    public var highWatermark: Int64
    public var voters: [Replica]
    public var observers: [Replica]
    /// The listeners of the quorum's nodes by node id (empty before DescribeQuorum v2).
    public var nodes: [Int32: [Endpoint]]

    public init(
        leaderID: Int32, leaderEpoch: Int32, highWatermark: Int64, voters: [Replica], observers: [Replica] = [],
        nodes: [Int32: [Endpoint]] = [:]
    ) {
        self.leaderID = leaderID
        self.leaderEpoch = leaderEpoch
        self.highWatermark = highWatermark
        self.voters = voters
        self.observers = observers
        self.nodes = nodes
    }

    /// The leader's own replica state, when it lists itself among the voters (it always does).
    public var leader: Replica? { voters.first { $0.nodeID == leaderID } }

    /// How many offsets each replica is behind the leader's log end (Kafka's `Lag` column); nil when either end is
    /// unknown.
    public func lag(of replica: Replica) -> Int64? {
        guard let leaderEnd = leader?.logEndOffset, leaderEnd >= 0, replica.logEndOffset >= 0 else { return nil }
        return leaderEnd - replica.logEndOffset
    }
}
