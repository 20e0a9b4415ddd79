import KafkaProtocol

extension RaftMessage {
    /// Fetch (API 1, `FetchRequest.json`) of `__cluster_metadata` partition 0 by a follower or an observer.
    /// `fetchOffset` is the fetcher's (persisted) log end and `lastFetchedEpoch` the epoch of its last batch, which
    /// the leader checks against its epoch history.
    public struct FetchRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        /// ReplicaState.ReplicaId: the fetching node.
        public var replicaID: NodeID
        /// ReplicaState.ReplicaEpoch: the broker epoch (-1 for controllers).
        public var replicaEpoch: Int64
        public var replicaDirectoryID: KafkaUUID?
        public var maxWaitMs: Int32
        public var maxBytes: Int32
        /// The epoch the fetcher believes the leader has.
        public var currentLeaderEpoch: Int32
        public var fetchOffset: Int64
        public var lastFetchedEpoch: Int32
        public var logStartOffset: Int64

        public init(
            correlationID: Int32, clusterID: String?, replicaID: NodeID, replicaEpoch: Int64 = -1,
            replicaDirectoryID: KafkaUUID?, maxWaitMs: Int32, maxBytes: Int32, currentLeaderEpoch: Int32,
            fetchOffset: Int64, lastFetchedEpoch: Int32, logStartOffset: Int64
        ) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.replicaID = replicaID
            self.replicaEpoch = replicaEpoch
            self.replicaDirectoryID = replicaDirectoryID
            self.maxWaitMs = maxWaitMs
            self.maxBytes = maxBytes
            self.currentLeaderEpoch = currentLeaderEpoch
            self.fetchOffset = fetchOffset
            self.lastFetchedEpoch = lastFetchedEpoch
            self.logStartOffset = logStartOffset
        }

        public var replicaKey: ReplicaKey { ReplicaKey(id: replicaID, directoryID: replicaDirectoryID) }
    }

    /// The answer to a Fetch (`FetchResponse.json`, one partition). At most one of `divergingEpoch` (truncate to
    /// it, then fetch again), `snapshotID` (fetch that snapshot) and `batches` is meaningful.
    public struct FetchResponse: Sendable, Equatable {
        public var correlationID: Int32
        /// Top-level code (INCONSISTENT_CLUSTER_ID).
        public var errorCode: ErrorCode
        /// The partition's code (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, ...).
        public var partitionErrorCode: ErrorCode
        public var highWatermark: Int64
        public var logStartOffset: Int64
        /// DivergingEpoch: the largest epoch of the leader's log not after the fetcher's, and its end offset.
        public var divergingEpoch: OffsetAndEpoch?
        public var currentLeader: LeaderAndEpoch
        /// SnapshotId: the fetch offset is below the leader's log start; fetch this snapshot first.
        public var snapshotID: OffsetAndEpoch?
        /// Records: the batches from the fetch offset, bounded by the request's `maxBytes` (at least one).
        public var batches: [RaftBatch]

        public init(
            correlationID: Int32, errorCode: ErrorCode = .none, partitionErrorCode: ErrorCode = .none,
            highWatermark: Int64, logStartOffset: Int64, divergingEpoch: OffsetAndEpoch? = nil,
            currentLeader: LeaderAndEpoch, snapshotID: OffsetAndEpoch? = nil, batches: [RaftBatch] = []
        ) {
            self.correlationID = correlationID
            self.errorCode = errorCode
            self.partitionErrorCode = partitionErrorCode
            self.highWatermark = highWatermark
            self.logStartOffset = logStartOffset
            self.divergingEpoch = divergingEpoch
            self.currentLeader = currentLeader
            self.snapshotID = snapshotID
            self.batches = batches
        }
    }
}
