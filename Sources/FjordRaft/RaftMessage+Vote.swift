import KafkaProtocol

extension RaftMessage {
    /// Vote (API 52, `VoteRequest.json`), one partition. With `preVote` (KIP-996, v2) the candidate asks whether it
    /// could win at `candidateEpoch` without bumping its own epoch; voters neither persist nor change state for it.
    public struct VoteRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        /// The epoch the candidate runs for (its current epoch + 1).
        public var candidateEpoch: Int32
        public var candidateID: NodeID
        public var candidateDirectoryID: KafkaUUID?
        /// The replica the request is addressed to (KIP-853), nil when unknown.
        public var voterID: NodeID
        public var voterDirectoryID: KafkaUUID?
        /// The epoch and end offset of the candidate's log.
        public var lastOffsetEpoch: Int32
        public var lastOffset: Int64
        public var preVote: Bool

        public init(
            correlationID: Int32, clusterID: String?, candidateEpoch: Int32, candidateID: NodeID,
            candidateDirectoryID: KafkaUUID?, voterID: NodeID, voterDirectoryID: KafkaUUID?, lastOffsetEpoch: Int32,
            lastOffset: Int64, preVote: Bool
        ) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.candidateEpoch = candidateEpoch
            self.candidateID = candidateID
            self.candidateDirectoryID = candidateDirectoryID
            self.voterID = voterID
            self.voterDirectoryID = voterDirectoryID
            self.lastOffsetEpoch = lastOffsetEpoch
            self.lastOffset = lastOffset
            self.preVote = preVote
        }

        public var candidateKey: ReplicaKey { ReplicaKey(id: candidateID, directoryID: candidateDirectoryID) }
        public var lastOffsetAndEpoch: OffsetAndEpoch { OffsetAndEpoch(offset: lastOffset, epoch: lastOffsetEpoch) }
    }

    /// The answer to a Vote (`VoteResponse.json`): `errorCode` is the top-level code (INCONSISTENT_CLUSTER_ID),
    /// `partitionErrorCode` the partition's; `leaderID`/`leaderEpoch` are the voter's view.
    public struct VoteResponse: Sendable, Equatable {
        public var correlationID: Int32
        public var errorCode: ErrorCode
        public var partitionErrorCode: ErrorCode
        public var leaderID: NodeID?
        public var leaderEpoch: Int32
        public var voteGranted: Bool

        public init(
            correlationID: Int32, errorCode: ErrorCode = .none, partitionErrorCode: ErrorCode = .none,
            leaderID: NodeID?, leaderEpoch: Int32, voteGranted: Bool
        ) {
            self.correlationID = correlationID
            self.errorCode = errorCode
            self.partitionErrorCode = partitionErrorCode
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.voteGranted = voteGranted
        }
    }
}
