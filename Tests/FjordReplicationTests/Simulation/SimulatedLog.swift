import FjordReplication
import KafkaProtocol

/// One record of the simulated partition: the epoch of the leader that appended it and a number unique in the run
/// (the producer's), so two logs agree at an offset only if they hold the very same record.
struct LogRecord: Hashable, CustomStringConvertible {
    var epoch: LeaderEpoch
    var id: UInt64

    var description: String { "#\(id)@e\(epoch)" }
}

/// A replica's log on a simulated disk: records, the epoch history kept beside them (what FjordStorage's
/// `leader-epoch-checkpoint` holds), the high watermark and what has been flushed. A power loss keeps only the flushed
/// records and the high watermark checkpointed with them; a process crash loses nothing (the page cache survives).
/// Prefix hashes make "do these two logs agree up to n?" O(1), so the invariants can be checked after every event.
struct SimulatedLog {
    private(set) var records: [LogRecord] = []
    private(set) var prefixHashes: [UInt64] = []
    private(set) var epochs = LeaderEpochHistory()
    var highWatermark: Int64 = 0
    private(set) var flushedEnd: Int64 = 0
    private(set) var checkpointedHighWatermark: Int64 = 0

    var logEndOffset: Int64 { Int64(records.count) }

    var state: LocalLogState {
        LocalLogState(logStartOffset: 0, logEndOffset: logEndOffset, highWatermark: highWatermark, epochs: epochs)
    }

    /// A new leader records its epoch at its log end before appending (KIP-101).
    mutating func assignEpoch(_ epoch: LeaderEpoch) {
        epochs.assign(epoch: epoch, startOffset: logEndOffset)
    }

    mutating func append(_ batch: [LogRecord]) {
        for record in batch {
            if epochs.latestEpoch != record.epoch { epochs.assign(epoch: record.epoch, startOffset: logEndOffset) }
            let previous = prefixHashes.last ?? 0xCBF2_9CE4_8422_2325
            prefixHashes.append(
                (previous ^ (UInt64(bitPattern: Int64(record.epoch)) &* 0x9E37_79B9) ^ record.id)
                    &* 0x0000_0100_0000_01B3)
            records.append(record)
        }
    }

    /// Kafka's `truncateTo`: even at or past the log end, epochs starting there go — a replica that led an epoch
    /// without appending to it holds an entry at its log end that would otherwise survive and make it diverge again
    /// on every fetch (the soak's seed 800 found this).
    mutating func truncate(to offset: Int64) {
        epochs.truncate(fromEnd: min(offset, logEndOffset))
        guard offset < logEndOffset else { return }
        records.removeLast(Int(logEndOffset - offset))
        prefixHashes.removeLast(prefixHashes.count - records.count)
        epochs.truncate(fromEnd: offset)
        highWatermark = min(highWatermark, offset)
        flushedEnd = min(flushedEnd, offset)
    }

    mutating func flush() {
        flushedEnd = logEndOffset
        checkpointedHighWatermark = min(highWatermark, flushedEnd)
    }

    /// A power loss: the unflushed tail is gone; the high watermark is the checkpointed one. The records lost.
    mutating func losePower() -> [LogRecord] {
        let lost = Array(records[Int(flushedEnd)...])
        truncate(to: flushedEnd)
        highWatermark = min(checkpointedHighWatermark, logEndOffset)
        return lost
    }

    /// After any restart the high watermark is the checkpointed one.
    mutating func restart() {
        highWatermark = min(checkpointedHighWatermark, logEndOffset)
    }

    /// Whether this log and `other` hold the same records below `length` (both must reach it).
    func agrees(with other: SimulatedLog, below length: Int64) -> Bool {
        guard length > 0 else { return true }
        guard logEndOffset >= length, other.logEndOffset >= length else { return false }
        return prefixHashes[Int(length) - 1] == other.prefixHashes[Int(length) - 1]
    }

    func record(at offset: Int64) -> LogRecord? {
        offset >= 0 && offset < logEndOffset ? records[Int(offset)] : nil
    }

    /// Test support for the checker tests: a log holding exactly `records`.
    init(records: [LogRecord] = [], highWatermark: Int64 = 0) {
        append(records)
        self.highWatermark = highWatermark
    }
}
