import Glibc
import KafkaProtocol
import KafkaRecords
import NIOCore

/// The metadata snapshots of a KRaft node (KIP-630), as Kafka keeps them in the metadata log's folder
/// (`<metadata.log.dir>/__cluster_metadata-0/`).
///
/// File naming (Kafka's `Snapshots`): `<end offset, 20 digits>-<epoch, 10 digits>.checkpoint`, where the end offset is
/// exclusive (the snapshot replaces the log before it) and the epoch is that of the last record it contains; the
/// bootstrap snapshot written by `fjord storage format` is `00000000000000000000-0000000000.checkpoint`. A snapshot
/// being written is `<id>-<random>.checkpoint.part`; a snapshot marked for deletion is `<id>.checkpoint.deleted`.
/// Contents: a `KRaftCheckpoint` (its type documents the batches).
///
/// Writes go to the `.part` file, which is fsynced and renamed to its final name, then the folder fsynced: a
/// `.checkpoint` file is always complete. After a crash, `.part` and `.deleted` files are garbage, deleted by
/// `removeIncomplete(in:)` when the node starts (Kafka's rule).
public enum RaftSnapshotFile {
    public static let suffix = ".checkpoint"
    public static let partialSuffix = ".checkpoint.part"
    public static let deletedSuffix = ".checkpoint.deleted"
    /// Read no snapshot larger than this unless told otherwise (a 100,000-partition image is a few tens of MiB).
    public static let defaultMaximumBytes = 1 << 30

    /// A snapshot's id: the log end offset it covers (exclusive) and the epoch of its last record.
    public struct ID: Hashable, Comparable, Sendable, CustomStringConvertible {
        public var endOffset: Int64
        public var epoch: LeaderEpoch

        public init(endOffset: Int64, epoch: LeaderEpoch) {
            precondition(endOffset >= 0 && epoch >= 0, "snapshot id (\(endOffset), \(epoch)) is negative")
            self.endOffset = endOffset
            self.epoch = epoch
        }

        /// The id of the snapshot `fjord storage format` writes (Kafka's `BOOTSTRAP_SNAPSHOT_ID`).
        public static let bootstrap = ID(endOffset: 0, epoch: 0)

        /// Kafka's order (`OffsetAndEpoch.compareTo`): by epoch, then by offset; the latest snapshot is the largest.
        public static func < (lhs: ID, rhs: ID) -> Bool {
            (lhs.epoch, lhs.endOffset) < (rhs.epoch, rhs.endOffset)
        }

        /// `00000000000000000000-0000000000`: the file name without its suffix.
        public var description: String {
            Self.padded(endOffset, to: 20) + "-" + Self.padded(Int64(epoch), to: 10)
        }

        private static func padded(_ value: Int64, to width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
    }

    /// What a file name in the folder is.
    public enum Kind: Hashable, Sendable {
        case complete, partial, deleted
    }

    /// The file name of a complete snapshot.
    public static func fileName(for id: ID) -> String {
        id.description + suffix
    }

    /// Parses a snapshot file name; nil for any other file (segments, indexes, `quorum-state`).
    public static func parse(fileName name: String) -> (id: ID, kind: Kind)? {
        let kind: Kind
        if name.hasSuffix(partialSuffix) {
            kind = .partial
        } else if name.hasSuffix(deletedSuffix) {
            kind = .deleted
        } else if name.hasSuffix(suffix) {
            kind = .complete
        } else {
            return nil
        }
        let characters = Array(name.utf8)
        guard characters.count >= 31 + suffix.utf8.count, characters[20] == UInt8(ascii: "-"),
            characters[0..<20].allSatisfy({ (48...57).contains($0) }),
            characters[21..<31].allSatisfy({ (48...57).contains($0) }),
            let offset = Int64(String(decoding: characters[0..<20], as: UTF8.self)),
            let epoch = Int32(String(decoding: characters[21..<31], as: UTF8.self))
        else { return nil }
        // A complete name is exactly `<id>.checkpoint`; a partial one carries a random part after the id.
        if kind == .complete && characters.count != 31 + suffix.utf8.count { return nil }
        return (ID(endOffset: offset, epoch: epoch), kind)
    }

    /// The complete snapshots in `directory`, oldest first (Kafka's order); none if the folder does not exist.
    public static func list(in directory: String) throws(LogError) -> [ID] {
        guard SegmentFile.exists(directory) else { return [] }
        return try PartitionLog.listDirectory(directory).compactMap { name in
            guard let parsed = parse(fileName: name), parsed.kind == .complete else { return nil }
            return parsed.id
        }.sorted()
    }

    /// Deletes the `.part` and `.deleted` snapshot files a crash or an interrupted deletion left in `directory`, as
    /// Kafka does when it opens the metadata log. Returns the names deleted.
    @discardableResult
    public static func removeIncomplete(in directory: String) throws(LogError) -> [String] {
        guard SegmentFile.exists(directory) else { return [] }
        var removed = [String]()
        for name in try PartitionLog.listDirectory(directory) {
            guard let parsed = parse(fileName: name), parsed.kind != .complete else { continue }
            guard unlink(directory + "/" + name) == 0 || errno == ENOENT else {
                throw LogError(.io, "unlink \(directory)/\(name): \(String(cString: strerror(errno)))")
            }
            removed.append(name)
        }
        if !removed.isEmpty { try DurableFile.syncFolder(of: directory + "/" + removed[0]) }
        return removed.sorted()
    }

    /// Writes `checkpoint` as snapshot `id` in `directory` (created if missing): `.part` file, fsync, rename, fsync of
    /// the folder. Every record is stamped with `timestamp` (ms, the write time). Returns the file's path.
    @discardableResult
    public static func write(_ checkpoint: KRaftCheckpoint, id: ID, in directory: String, timestamp: Int64)
        throws(LogError) -> String
    {
        try DurableFile.makeFolder(directory)
        let bytes = try checkpoint.encoded(epoch: id.epoch, timestamp: timestamp)
        let path = directory + "/" + fileName(for: id)
        let nonce = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try DurableFile.write(bytes, to: path, via: directory + "/" + id.description + "-" + nonce + partialSuffix)
        return path
    }

    /// The bytes of snapshot `id`, unchecked (what FetchSnapshot serves); nil if there is no such snapshot.
    public static func bytes(of id: ID, in directory: String, maximumBytes: Int = defaultMaximumBytes)
        throws(LogError) -> ByteBuffer?
    {
        try DurableFile.read(directory + "/" + fileName(for: id), limit: maximumBytes)
    }

    /// Reads and checks snapshot `id` (`KRaftCheckpoint(decoding:source:)`: CRCs, header first, footer last); nil
    /// if there is no such snapshot.
    public static func read(_ id: ID, in directory: String, maximumBytes: Int = defaultMaximumBytes)
        throws(LogError) -> KRaftCheckpoint?
    {
        guard let bytes = try bytes(of: id, in: directory, maximumBytes: maximumBytes) else { return nil }
        return try KRaftCheckpoint(decoding: bytes, source: directory + "/" + fileName(for: id))
    }
}
