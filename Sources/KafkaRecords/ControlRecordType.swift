import NIOCore

/// The kind of a control record, as Kafka numbers it (`ControlRecordType`): the key of every record in a control
/// batch is `version` int16 (0) then `type` int16.
///
/// 0 ABORT and 1 COMMIT are transaction markers; 2 LEADER_CHANGE, 3 SNAPSHOT_HEADER, 4 SNAPSHOT_FOOTER, 5
/// KRAFT_VERSION and 6 KRAFT_VOTERS belong to the KRaft metadata log and its snapshots. A type this code does not
/// know is kept as its number (Kafka reads it as UNKNOWN and skips the record).
public struct ControlRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16

    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    public static let abort = ControlRecordType(rawValue: 0)
    public static let commit = ControlRecordType(rawValue: 1)
    public static let leaderChange = ControlRecordType(rawValue: 2)
    public static let snapshotHeader = ControlRecordType(rawValue: 3)
    public static let snapshotFooter = ControlRecordType(rawValue: 4)
    public static let kraftVersion = ControlRecordType(rawValue: 5)
    public static let kraftVoters = ControlRecordType(rawValue: 6)

    /// The key version Kafka writes.
    public static let currentKeyVersion: Int16 = 0
    /// Bytes of a version-0 key.
    public static let keySize = 4

    /// The record key for this type: version 0, then the type.
    public var key: ByteBuffer {
        var key = ByteBuffer()
        key.reserveCapacity(Self.keySize)
        key.writeInteger(Self.currentKeyVersion)
        key.writeInteger(rawValue)
        return key
    }

    /// Reads the type from a control record's key. As Kafka: at least 4 bytes, a negative version is corruption, and
    /// a newer version is read by its version-0 fields.
    public init(parsingKey key: ByteBuffer?) throws(RecordBatchError) {
        guard let key, key.readableBytes >= Self.keySize,
            let version = key.getInteger(at: key.readerIndex, as: Int16.self),
            let type = key.getInteger(at: key.readerIndex + 2, as: Int16.self)
        else {
            throw RecordBatchError(
                .invalidRecord,
                "control record key has \(key?.readableBytes ?? 0) bytes, fewer than \(Self.keySize)")
        }
        guard version >= 0 else {
            throw RecordBatchError(.invalidRecord, "control record key version \(version) is negative")
        }
        self.init(rawValue: type)
    }

    public var description: String {
        switch self {
        case .abort: "ABORT"
        case .commit: "COMMIT"
        case .leaderChange: "LEADER_CHANGE"
        case .snapshotHeader: "SNAPSHOT_HEADER"
        case .snapshotFooter: "SNAPSHOT_FOOTER"
        case .kraftVersion: "KRAFT_VERSION"
        case .kraftVoters: "KRAFT_VOTERS"
        default: "UNKNOWN(\(rawValue))"
        }
    }
}
