import FjordStorage
import Glibc
import KafkaRecords
import NIOCore

/// A partition's producer state saved beside its segments, so that a restart restores it without re-reading the
/// log: `<offset, 20 digits>.snapshot`, where the state covers every batch below that offset.
///
/// Layout (Kafka's producer snapshot, version 1, all big-endian): `version` int16 = 1, `crc` uint32 (CRC-32C of
/// everything after it), then an int32 count of entries, each: `producer_id` int64, `producer_epoch` int16,
/// `last_sequence` int32, `last_offset` int64, `offset_delta` int32 (last offset minus first), `timestamp` int64
/// (of the producer's last batch or marker), `coordinator_epoch` int32 (of its last marker, -1 before any),
/// `current_txn_first_offset` int64 (its ongoing transaction, -1 if none). A producer with no batch in its current
/// epoch (a marker set the epoch) has `last_sequence` and `last_offset` -1 and `offset_delta` 0. Like Kafka's, it
/// keeps each producer's latest batch; the batches after the snapshot are replayed from the log on load. Written
/// atomically (temp file, fsync, rename) when the log rolls and when the broker shuts down; the two newest are
/// kept.
enum ProducerStateSnapshot {
    static let version: Int16 = 1
    static let suffix = ".snapshot"
    static let entrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8

    static func fileName(_ offset: Int64) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    static func encode(_ state: ProducerStateManager) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeInteger(Int32(state.producers.count))
        for (producerID, entry) in state.producers.sorted(by: { $0.key < $1.key }) {
            let last = entry.batches.last
            body.writeInteger(producerID)
            body.writeInteger(entry.epoch)
            body.writeInteger(last?.lastSequence ?? -1)
            body.writeInteger(last?.lastOffset ?? -1)
            body.writeInteger(last.map { Int32(truncatingIfNeeded: $0.lastOffset - $0.firstOffset) } ?? 0)
            body.writeInteger(entry.lastTimestamp)
            body.writeInteger(entry.coordinatorEpoch)
            body.writeInteger(entry.currentTxnFirstOffset ?? -1)
        }
        var file = ByteBuffer()
        file.writeInteger(version)
        file.writeInteger(CRC32C.checksum(body))
        file.writeImmutableBuffer(body)
        return file
    }

    /// Decodes a snapshot; nil if it is truncated, of another version, or fails its CRC.
    static func decode(_ bytes: ByteBuffer) -> ProducerStateManager? {
        var bytes = bytes
        guard bytes.readInteger(as: Int16.self) == version, let crc = bytes.readInteger(as: UInt32.self),
            CRC32C.checksum(bytes) == crc, let count = bytes.readInteger(as: Int32.self), count >= 0,
            Int(count) * entrySize == bytes.readableBytes
        else { return nil }
        var state = ProducerStateManager()
        for _ in 0..<count {
            guard let producerID = bytes.readInteger(as: Int64.self), let epoch = bytes.readInteger(as: Int16.self),
                let lastSequence = bytes.readInteger(as: Int32.self),
                let lastOffset = bytes.readInteger(as: Int64.self),
                let offsetDelta = bytes.readInteger(as: Int32.self), let timestamp = bytes.readInteger(as: Int64.self),
                let coordinatorEpoch = bytes.readInteger(as: Int32.self),
                let currentTxnFirstOffset = bytes.readInteger(as: Int64.self)
            else { return nil }
            var entry = ProducerStateManager.Entry(
                epoch: epoch, batches: [], coordinatorEpoch: coordinatorEpoch,
                currentTxnFirstOffset: currentTxnFirstOffset >= 0 ? currentTxnFirstOffset : nil,
                lastTimestamp: timestamp
            )
            if lastSequence >= 0, lastOffset >= 0 {
                let firstSequence = Int32(truncatingIfNeeded: Int64(lastSequence) - Int64(offsetDelta))
                entry.batches = [
                    .init(
                        firstSequence: firstSequence < 0 ? firstSequence &+ Int32.max &+ 1 : firstSequence,
                        lastSequence: lastSequence, firstOffset: lastOffset - Int64(offsetDelta),
                        lastOffset: lastOffset,
                        timestamp: timestamp
                    )
                ]
            }
            state.restore(producerID: producerID, entry: entry)
        }
        return state
    }

    /// Writes the state as of `offset` into the partition folder and keeps only the two newest snapshots.
    /// Blocking (fsync): call it off the event loops.
    static func write(_ state: ProducerStateManager, offset: Int64, directory: String) throws {
        let path = directory + "/" + fileName(offset)
        let temporary = path + ".tmp"
        let file = try SegmentFile(path: temporary, create: true)
        try file.truncate(to: 0)
        try file.write(encode(state), at: 0)
        try file.sync()
        guard rename(temporary, path) == 0 else { throw LogError(.io, "rename \(temporary)") }
        for old in offsets(in: directory).dropLast(2) { unlink(directory + "/" + fileName(old)) }
    }

    /// The snapshot offsets present in the folder, ascending.
    static func offsets(in directory: String) -> [Int64] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var result = [Int64]()
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(suffix), name.count == 20 + suffix.count, let offset = Int64(name.prefix(20)) {
                result.append(offset)
            }
        }
        return result.sorted()
    }

    /// The newest readable snapshot at or below `limit`, with its offset.
    static func latest(in directory: String, atOrBelow limit: Int64) -> (offset: Int64, state: ProducerStateManager)? {
        for offset in offsets(in: directory).reversed() where offset <= limit {
            guard let file = try? SegmentFile(path: directory + "/" + fileName(offset), create: false),
                let size = try? file.size(), let bytes = try? file.read(at: 0, length: Int(size)),
                let state = decode(bytes)
            else { continue }
            return (offset, state)
        }
        return nil
    }
}
