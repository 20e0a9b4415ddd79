import KafkaProtocol
import NIOCore

/// One record of `__cluster_metadata`. Data records are opaque to the core (the controller's `MetadataRecord`
/// bytes); the control records are the ones Raft itself reads: `LeaderChange` (the first batch of every leader
/// epoch), `Voters` and `KRaftVersion` (KIP-853: the latest `Voters` record in the log is the voter set).
public enum RaftRecord: Sendable, Equatable {
    case data(ByteBuffer)
    case leaderChange(LeaderChangeMessage)
    case voters(VotersRecord)
    case kraftVersion(KRaftVersionRecord)

    /// Whether the driver writes this record in a control batch.
    public var isControl: Bool {
        if case .data = self { return false }
        return true
    }

    /// A rough size in bytes, used to keep fetch responses under their byte limit (the core never encodes).
    var estimatedSize: Int {
        switch self {
        case .data(let bytes): bytes.readableBytes + 16
        case .leaderChange(let message): 32 + 20 * (message.voters.count + message.grantingVoters.count)
        case .voters(let record): 32 + 64 * record.voters.count
        case .kraftVersion: 24
        }
    }
}
