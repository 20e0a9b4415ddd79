import KafkaProtocol

extension RaftMessage {
    /// BeginQuorumEpoch (API 53, `BeginQuorumEpochRequest.json`): the new leader of `leaderEpoch` tells a voter.
    public struct BeginQuorumEpochRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        public var voterID: NodeID
        public var voterDirectoryID: KafkaUUID?
        public var leaderID: NodeID
        public var leaderEpoch: Int32

        public init(
            correlationID: Int32, clusterID: String?, voterID: NodeID, voterDirectoryID: KafkaUUID?, leaderID: NodeID,
            leaderEpoch: Int32
        ) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.voterID = voterID
            self.voterDirectoryID = voterDirectoryID
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
        }
    }

    /// The answer to BeginQuorumEpoch (`BeginQuorumEpochResponse.json`), with the voter's view of the leader.
    public struct BeginQuorumEpochResponse: Sendable, Equatable {
        public var correlationID: Int32
        public var errorCode: ErrorCode
        public var partitionErrorCode: ErrorCode
        public var leaderID: NodeID?
        public var leaderEpoch: Int32

        public init(
            correlationID: Int32, errorCode: ErrorCode = .none, partitionErrorCode: ErrorCode = .none,
            leaderID: NodeID?, leaderEpoch: Int32
        ) {
            self.correlationID = correlationID
            self.errorCode = errorCode
            self.partitionErrorCode = partitionErrorCode
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
        }
    }

    /// EndQuorumEpoch (API 54, `EndQuorumEpochRequest.json`): the leader of `leaderEpoch` resigns and ranks its
    /// followers (most caught up first) in `preferredCandidates` (v1; v0's `preferredSuccessors` are the ids).
    public struct EndQuorumEpochRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        public var leaderID: NodeID
        public var leaderEpoch: Int32
        public var preferredCandidates: [ReplicaKey]

        public init(
            correlationID: Int32, clusterID: String?, leaderID: NodeID, leaderEpoch: Int32,
            preferredCandidates: [ReplicaKey]
        ) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.preferredCandidates = preferredCandidates
        }

        /// v0's field: the preferred successors' ids.
        public var preferredSuccessors: [NodeID] { preferredCandidates.map(\.id) }
    }

    /// The answer to EndQuorumEpoch (`EndQuorumEpochResponse.json`).
    public struct EndQuorumEpochResponse: Sendable, Equatable {
        public var correlationID: Int32
        public var errorCode: ErrorCode
        public var partitionErrorCode: ErrorCode
        public var leaderID: NodeID?
        public var leaderEpoch: Int32

        public init(
            correlationID: Int32, errorCode: ErrorCode = .none, partitionErrorCode: ErrorCode = .none,
            leaderID: NodeID?, leaderEpoch: Int32
        ) {
            self.correlationID = correlationID
            self.errorCode = errorCode
            self.partitionErrorCode = partitionErrorCode
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
        }
    }
}
