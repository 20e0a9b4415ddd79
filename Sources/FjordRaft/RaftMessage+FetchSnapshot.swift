import KafkaProtocol
import NIOCore

extension RaftMessage {
    /// FetchSnapshot (API 59, `FetchSnapshotRequest.json`): one chunk of snapshot `snapshotID` from `position`.
    public struct FetchSnapshotRequest: Sendable, Equatable {
        public var correlationID: Int32
        public var clusterID: String?
        public var replicaID: NodeID
        public var replicaDirectoryID: KafkaUUID?
        public var maxBytes: Int32
        public var currentLeaderEpoch: Int32
        public var snapshotID: OffsetAndEpoch
        public var position: Int64

        public init(
            correlationID: Int32, clusterID: String?, replicaID: NodeID, replicaDirectoryID: KafkaUUID?,
            maxBytes: Int32, currentLeaderEpoch: Int32, snapshotID: OffsetAndEpoch, position: Int64
        ) {
            self.correlationID = correlationID
            self.clusterID = clusterID
            self.replicaID = replicaID
            self.replicaDirectoryID = replicaDirectoryID
            self.maxBytes = maxBytes
            self.currentLeaderEpoch = currentLeaderEpoch
            self.snapshotID = snapshotID
            self.position = position
        }
    }

    /// One chunk of a snapshot (`FetchSnapshotResponse.json`): `size` is the whole snapshot's, `position` where
    /// `unalignedRecords` starts. The last chunk is the one that reaches `size`.
    ///
    /// `voters` is the snapshot's voter set (KIP-853, `RaftSnapshot.voters`). Kafka has no such field: it sends the
    /// `VotersRecord` inside the snapshot bytes, as a control record of the snapshot's header batch; a driver
    /// translating to the wire writes it there and reads it back, since the core keeps the payload opaque.
    public struct FetchSnapshotResponse: Sendable, Equatable {
        public var correlationID: Int32
        public var errorCode: ErrorCode
        public var partitionErrorCode: ErrorCode
        public var snapshotID: OffsetAndEpoch
        public var currentLeader: LeaderAndEpoch
        public var size: Int64
        public var position: Int64
        public var unalignedRecords: ByteBuffer
        public var voters: VotersRecord?

        public init(
            correlationID: Int32, errorCode: ErrorCode = .none, partitionErrorCode: ErrorCode = .none,
            snapshotID: OffsetAndEpoch, currentLeader: LeaderAndEpoch, size: Int64, position: Int64,
            unalignedRecords: ByteBuffer, voters: VotersRecord? = nil
        ) {
            self.correlationID = correlationID
            self.errorCode = errorCode
            self.partitionErrorCode = partitionErrorCode
            self.snapshotID = snapshotID
            self.currentLeader = currentLeader
            self.size = size
            self.position = position
            self.unalignedRecords = unalignedRecords
            self.voters = voters
        }
    }
}
