import KafkaProtocol

extension RaftMessage {
    /// AddRaftVoter (API 80, KIP-853, `AddRaftVoterRequest.json`): make a caught-up observer a voter. Answered by
    /// the leader once the new `VotersRecord` commits, or with NOT_LEADER_OR_FOLLOWER if it steps down first;
    /// `timeoutMs` is the driver's to enforce (the core keeps no per-request timers).
    public struct AddRaftVoterRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        public var timeoutMs: Int32
        public var voterID: NodeID
        public var voterDirectoryID: KafkaUUID?
        public var listeners: [VotersRecord.Endpoint]

        public init(
            correlationID: Int32, clusterID: String?, timeoutMs: Int32, voterID: NodeID, voterDirectoryID: KafkaUUID?,
            listeners: [VotersRecord.Endpoint]
        ) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.timeoutMs = timeoutMs
            self.voterID = voterID
            self.voterDirectoryID = voterDirectoryID
            self.listeners = listeners
        }

        public var voterKey: ReplicaKey { ReplicaKey(id: voterID, directoryID: voterDirectoryID) }
    }

    /// The answer to AddRaftVoter and to RemoveRaftVoter (`AddRaftVoterResponse.json`,
    /// `RemoveRaftVoterResponse.json`: the same three fields), carried by `.addRaftVoterResponse` or
    /// `.removeRaftVoterResponse`.
    public struct VoterChangeResponse: Sendable, Equatable {
        public var correlationID: Int32
        public var errorCode: ErrorCode
        public var errorMessage: String?

        public init(correlationID: Int32, errorCode: ErrorCode, errorMessage: String? = nil) {
            self.correlationID = correlationID
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    /// RemoveRaftVoter (API 81, `RemoveRaftVoterRequest.json`): drop a voter; answered once the change commits.
    public struct RemoveRaftVoterRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        public var voterID: NodeID
        public var voterDirectoryID: KafkaUUID?

        public init(correlationID: Int32, clusterID: String?, voterID: NodeID, voterDirectoryID: KafkaUUID?) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.voterID = voterID
            self.voterDirectoryID = voterDirectoryID
        }

        public var voterKey: ReplicaKey { ReplicaKey(id: voterID, directoryID: voterDirectoryID) }
    }

    /// UpdateRaftVoter (API 82, `UpdateRaftVoterRequest.json`): a voter tells the leader its current endpoints and
    /// supported `kraft.version` range; answered once the change commits.
    public struct UpdateRaftVoterRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        public var currentLeaderEpoch: Int32
        public var voterID: NodeID
        public var voterDirectoryID: KafkaUUID?
        public var listeners: [VotersRecord.Endpoint]
        public var kRaftVersionFeature: VotersRecord.KRaftVersionFeature

        public init(
            correlationID: Int32, clusterID: String?, currentLeaderEpoch: Int32, voterID: NodeID,
            voterDirectoryID: KafkaUUID?, listeners: [VotersRecord.Endpoint],
            kRaftVersionFeature: VotersRecord.KRaftVersionFeature
        ) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.currentLeaderEpoch = currentLeaderEpoch
            self.voterID = voterID
            self.voterDirectoryID = voterDirectoryID
            self.listeners = listeners
            self.kRaftVersionFeature = kRaftVersionFeature
        }

        public var voterKey: ReplicaKey { ReplicaKey(id: voterID, directoryID: voterDirectoryID) }
    }

    /// The answer to UpdateRaftVoter (`UpdateRaftVoterResponse.json`), with the leader as the receiver knows it.
    public struct UpdateRaftVoterResponse: Sendable, Equatable {
        public var correlationID: Int32
        public var errorCode: ErrorCode
        public var currentLeader: LeaderAndEpoch

        public init(correlationID: Int32, errorCode: ErrorCode, currentLeader: LeaderAndEpoch) {
            self.correlationID = correlationID
            self.errorCode = errorCode
            self.currentLeader = currentLeader
        }
    }
}
