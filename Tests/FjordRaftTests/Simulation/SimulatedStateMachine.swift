import FjordRaft
import KafkaProtocol
import NIOCore

/// A node's state machine: the list of committed entries it applied, from offset 0 (a snapshot holds the whole
/// list, so a restart or an installed snapshot rebuilds it exactly). The simulated driver applies `.commit` batches
/// here; the invariant checker verifies order and exactly-once against `appliedEndOffset`.
struct SimulatedStateMachine {
    private(set) var entries: [LogEntry] = []
    /// The append time of the last applied batch (the snapshot's `lastContainedLogTimestamp`).
    private(set) var lastAppendTimeMs: Int64 = -1
    /// `entries` in the snapshot format, kept up to date as batches are applied.
    private var encoded = ByteBuffer()

    /// The offset after the last applied entry.
    var appliedEndOffset: Int64 { Int64(entries.count) }

    mutating func apply(_ batch: RaftBatch) {
        precondition(batch.baseOffset == appliedEndOffset, "the checker lets only the next batch through")
        for offset in batch.baseOffset...batch.lastOffset {
            let entry = batch.entry(at: offset)
            entries.append(entry)
            SnapshotCodec.append(entry, to: &encoded)
        }
        lastAppendTimeMs = batch.appendTimeMs
    }

    /// A snapshot of everything applied: `id.offset` is the applied end and `id.epoch` the last entry's epoch.
    func snapshot() -> RaftSnapshot {
        RaftSnapshot(
            id: OffsetAndEpoch(offset: appliedEndOffset, epoch: entries.last?.epoch ?? 0),
            lastContainedLogTimestamp: lastAppendTimeMs, bytes: encoded)
    }

    /// The state machine a snapshot holds. Throws when the bytes do not decode to exactly `id.offset` entries ending
    /// in `id.epoch` (a FetchSnapshot transfer that lost, repeated or reordered chunks).
    init(snapshot: RaftSnapshot) throws(InvariantViolation) {
        guard let decoded = SnapshotCodec.decode(snapshot.bytes) else {
            throw InvariantViolation(
                "snapshotIntact", "the snapshot \(snapshot.id) holds \(snapshot.bytes.readableBytes) undecodable bytes")
        }
        guard Int64(decoded.count) == snapshot.id.offset, (decoded.last?.epoch ?? 0) == snapshot.id.epoch else {
            throw InvariantViolation(
                "snapshotIntact",
                "the snapshot \(snapshot.id) holds \(decoded.count) entries ending in epoch \(decoded.last?.epoch ?? 0)"
            )
        }
        entries = decoded
        encoded = snapshot.bytes
        lastAppendTimeMs = snapshot.lastContainedLogTimestamp
    }

    init() {}

    /// Whether `bytes` (a snapshot's) are exactly the start of this state machine's encoding: then the snapshot holds
    /// a prefix of what was applied here, entry for entry.
    func encodingStarts(with bytes: ByteBuffer) -> Bool {
        encoded.getSlice(at: encoded.readerIndex, length: bytes.readableBytes) == bytes
    }
}
