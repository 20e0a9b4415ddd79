import FjordRaft
import FjordStorage
import Glibc
import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore

/// The durable side of this node's metadata quorum, in `<metadata.log.dir>/__cluster_metadata-0/` as Kafka lays it
/// out: the log (`PartitionLog` segments, one record batch per Raft batch, `RaftBatchCodec`), `quorum-state`
/// (`QuorumStateFile`) and the snapshots (`<end offset>-<epoch>.checkpoint`, `RaftSnapshotFile`, whose bytes are
/// a `KRaftCheckpoint`).
///
/// Every method blocks (file writes, fsync): the driver calls them from its own thread pool, never an event loop.
/// What a restart sees is what was fsynced; an unclean stop's torn tail is cut by the log's recovery before `load`.
/// The driver is the store's only caller and calls it from one thread at a time.
final class RaftLogStore: Sendable {
    let directory: String
    let log: PartitionLog
    private let quorumStateFile: QuorumStateFile
    private let logger: Logger

    init(directory: String, log: PartitionLog, logger: Logger) {
        self.directory = directory
        self.log = log
        self.quorumStateFile = QuorumStateFile(partitionDirectory: directory)
        self.logger = logger
    }

    // MARK: Start-up

    /// What the core restarts from: the quorum state, the latest complete snapshot (the bootstrap `0-0` one of a
    /// freshly formatted node included), and the log's batches after it. A log that stops before the snapshot's
    /// end, or that has a gap after it (an install interrupted by a crash), restarts empty at the snapshot's end.
    func load() throws(RaftDriverError) -> RaftPersistentState {
        let quorumState = try readQuorumState()
        let snapshot = try latestSnapshot()
        let start = snapshot?.id.offset ?? 0
        if log.logEndOffset < start || log.logStartOffset > start {
            logger.info(
                "metadata log restarts at the snapshot",
                metadata: ["snapshot": "\(snapshot?.id.description ?? "none")", "log.end": "\(log.logEndOffset)"])
            try io("restart the metadata log at \(start)") { () throws(LogError) in
                try log.truncateFully(startingAt: start)
            }
        }
        let batches = try readBatches(from: start)
        return RaftPersistentState(quorumState: quorumState, snapshot: snapshot, log: batches)
    }

    private func readQuorumState() throws(RaftDriverError) -> QuorumState? {
        let stored = try io("read quorum-state") { () throws(LogError) in try quorumStateFile.read() }
        guard let stored else { return nil }
        let voted: ReplicaKey? =
            stored.votedID < 0 ? nil : ReplicaKey(id: stored.votedID, wireDirectoryID: stored.votedDirectoryID)
        return QuorumState(
            leaderEpoch: stored.leaderEpoch, leaderID: stored.leaderID < 0 ? nil : stored.leaderID, votedKey: voted)
    }

    /// The latest complete snapshot with its bytes (what FetchSnapshot serves), checked.
    private func latestSnapshot() throws(RaftDriverError) -> RaftSnapshot? {
        guard
            let id = try io("list snapshots", { () throws(LogError) in try RaftSnapshotFile.list(in: directory) }).last
        else { return nil }
        let bytes = try io("read snapshot \(id)") { () throws(LogError) in
            try RaftSnapshotFile.bytes(of: id, in: directory)
        }
        guard let bytes else { return nil }
        let checkpoint = try io("read snapshot \(id)") { () throws(LogError) in
            try KRaftCheckpoint(decoding: bytes, source: directory + "/" + RaftSnapshotFile.fileName(for: id))
        }
        return RaftSnapshot(
            id: OffsetAndEpoch(offset: id.endOffset, epoch: id.epoch),
            lastContainedLogTimestamp: checkpoint.lastContainedLogTimestamp, bytes: bytes, voters: checkpoint.voters)
    }

    /// The snapshot's records, decoded (the metadata image is rebuilt from them).
    func records(of snapshot: RaftSnapshot) throws(RaftDriverError) -> KRaftCheckpoint {
        try io("decode snapshot \(snapshot.id)") { () throws(LogError) in
            try KRaftCheckpoint(decoding: snapshot.bytes, source: "snapshot \(snapshot.id)")
        }
    }

    /// The batches of the log from `offset` (a batch boundary) to its end.
    private func readBatches(from offset: Int64) throws(RaftDriverError) -> [RaftBatch] {
        var batches = [RaftBatch]()
        var next = offset
        let end = log.logEndOffset
        let source = "\(directory)"
        while next < end {
            let bytes = try io("read the metadata log at \(next)") { () throws(LogError) -> ByteBuffer? in
                let read = try log.read(from: next, maximumBytes: 1 << 20, upperBound: end)
                return try read.slice.map { (slice) throws(LogError) in try log.bytes(of: slice) }
            }
            guard let bytes else { break }
            for batch in try RaftBatchCodec.decodeAll(bytes, source: source) {
                if batch.nextOffset <= next { continue }
                guard batch.baseOffset == next else {
                    throw RaftDriverError(
                        .corrupt, "\(source): batch at \(batch.baseOffset) where \(next) was expected")
                }
                batches.append(batch)
                next = batch.nextOffset
            }
        }
        return batches
    }

    // MARK: Outputs of the core

    /// Writes and fsyncs `quorum-state` (Kafka's JSON, data version 1).
    func writeQuorumState(_ state: QuorumState) throws(RaftDriverError) {
        let stored = QuorumStateFile.State(
            leaderID: state.leaderID ?? -1, leaderEpoch: state.leaderEpoch, votedID: state.votedKey?.id ?? -1,
            votedDirectoryID: state.votedKey?.wireDirectoryID ?? .zero)
        try io("write quorum-state") { () throws(LogError) in try quorumStateFile.write(stored) }
    }

    /// Appends batches at the log end, unsynced.
    func append(_ batches: [RaftBatch]) throws(RaftDriverError) {
        guard let first = batches.first else { return }
        guard first.baseOffset == log.logEndOffset else {
            throw RaftDriverError(
                .corrupt, "append at \(first.baseOffset) while the metadata log ends at \(log.logEndOffset)")
        }
        let bytes = try RaftBatchCodec.encode(batches)
        _ = try io("append to the metadata log") { () throws(LogError) in try log.appendAsFollower(bytes) }
    }

    /// Drops everything at and after `offset` (a batch boundary: the core truncates to epoch ends).
    func truncate(toEndOffset offset: Int64) throws(RaftDriverError) {
        try io("truncate the metadata log to \(offset)") { () throws(LogError) in try log.truncate(to: offset) }
    }

    /// fsyncs the log; returns its end offset, all of which is now durable.
    func flush() throws(RaftDriverError) -> Int64 {
        try io("fsync the metadata log") { () throws(LogError) in try log.flush() }
        return log.logEndOffset
    }

    var logEndOffset: Int64 { log.logEndOffset }

    /// A snapshot fetched from the leader: written as `<id>.checkpoint` (checked first: the bytes must be a
    /// complete checkpoint), and the log restarts empty at its end.
    func install(_ snapshot: RaftSnapshot, now: Int64) throws(RaftDriverError) -> KRaftCheckpoint {
        let checkpoint = try records(of: snapshot)
        let id = try fileID(snapshot.id)
        try io("write snapshot \(id)") { () throws(LogError) in
            try RaftSnapshotFile.write(checkpoint, id: id, in: directory, timestamp: now)
            try log.truncateFully(startingAt: snapshot.id.offset)
        }
        return checkpoint
    }

    /// Writes a snapshot of the committed state (`checkpoint`) as `id`; returns its bytes as written.
    func writeSnapshot(_ checkpoint: KRaftCheckpoint, id: OffsetAndEpoch, now: Int64) throws(RaftDriverError)
        -> ByteBuffer
    {
        let fileID = try fileID(id)
        return try io("write snapshot \(fileID)") { () throws(LogError) -> ByteBuffer in
            try RaftSnapshotFile.write(checkpoint, id: fileID, in: directory, timestamp: now)
            return try checkpoint.encoded(epoch: fileID.epoch, timestamp: now)
        }
    }

    /// The log before `offset` is covered by the latest snapshot: its segments go, and so do older snapshots.
    func deletePrefix(before offset: Int64) throws(RaftDriverError) {
        _ = try io("advance the metadata log start to \(offset)") { () throws(LogError) in
            try log.advanceLogStartOffset(to: min(offset, log.logEndOffset))
        }
        let snapshots = try io("list snapshots") { () throws(LogError) in try RaftSnapshotFile.list(in: directory) }
        for id in snapshots.dropLast() where id.endOffset < offset {
            let path = directory + "/" + RaftSnapshotFile.fileName(for: id)
            if unlink(path) != 0 && errno != ENOENT {
                logger.warning("cannot delete an old snapshot", metadata: ["path": "\(path)", "errno": "\(errno)"])
            }
        }
    }

    private func fileID(_ id: OffsetAndEpoch) throws(RaftDriverError) -> RaftSnapshotFile.ID {
        guard id.offset >= 0, id.epoch >= 0 else { throw RaftDriverError(.corrupt, "snapshot id \(id) is negative") }
        return RaftSnapshotFile.ID(endOffset: id.offset, epoch: id.epoch)
    }

    private func io<T>(_ what: String, _ body: () throws(LogError) -> T) throws(RaftDriverError) -> T {
        do {
            return try body()
        } catch {
            throw RaftDriverError(error.code == .corrupt ? .corrupt : .io, "\(what): \(error)")
        }
    }
}
