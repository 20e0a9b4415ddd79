import KafkaProtocol
import NIOCore

/// A snapshot of the committed metadata state (KIP-630). `id.offset` is the end offset (exclusive) of the log it
/// replaces and `id.epoch` the epoch of the last record it contains. The bytes are opaque to the core: the driver
/// writes them (Kafka's `<offset>-<epoch>.checkpoint` file) and the leader serves them in FetchSnapshot chunks.
///
/// `lastContainedLogTimestamp` lives in the snapshot's header record on disk and is not sent by FetchSnapshot, so a
/// snapshot a follower assembled from chunks carries -1 there; the driver reads it from the bytes when it needs it.
///
/// `voters` (KIP-853) is the voter set in effect at the snapshot's end when it differs from the configured one:
/// the core fills it when the driver reports `.snapshotTaken` (see `RaftNode.latestSnapshot`), and the driver keeps
/// it with the snapshot (Kafka writes it as a control record at the head of the snapshot) and passes it back on
/// restart. FetchSnapshot answers carry it beside the chunk (Kafka has it inside the bytes), so a follower that
/// installs a fetched snapshot knows the voter set at once.
public struct RaftSnapshot: Sendable, Equatable {
    public var id: OffsetAndEpoch
    public var lastContainedLogTimestamp: Int64
    public var bytes: ByteBuffer
    public var voters: VotersRecord?

    public init(id: OffsetAndEpoch, lastContainedLogTimestamp: Int64, bytes: ByteBuffer, voters: VotersRecord? = nil) {
        self.id = id
        self.lastContainedLogTimestamp = lastContainedLogTimestamp
        self.bytes = bytes
        self.voters = voters
    }
}
