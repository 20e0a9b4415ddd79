import FoundationEssentials
import KafkaProtocol
import NIOCore

/// `quorum-state`: what a KRaft voter must remember across a restart before it grants a vote or follows a leader —
/// Kafka's `FileQuorumStateStore`, in the metadata log's folder (`<metadata.log.dir>/__cluster_metadata-0/`).
///
/// The file is one line of JSON, the fields of Kafka's `QuorumStateData` at `data_version` (camelCase, in the
/// schema's order, `data_version` last). Version 1 (kraft.version 1, KIP-853), what Fjord writes:
///
/// ```
/// {"leaderId":1,"leaderEpoch":5,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}
/// ```
///
/// Version 0 (kraft.version 0) has `clusterId`, `leaderId`, `leaderEpoch`, `votedId`, `appliedOffset` and
/// `currentVoters` (`[{"voterId":1},...]` or null) instead; both are read and written. `-1` means no leader or no
/// vote; a directory id of all zeros means none.
///
/// Written atomically: `quorum-state.tmp`, fsync, rename, fsync of the folder; a leftover `.tmp` is removed at the
/// next write. A file that cannot be parsed is a `LogError(.corrupt)` naming the file, never a crash: a voter must
/// not guess what it promised.
public struct QuorumStateFile: Sendable {
    public static let fileName = "quorum-state"
    /// The file holds a few small fields: anything larger is not a quorum-state file.
    static let maximumBytes = 1 << 20

    /// The election state the file holds.
    public struct State: Hashable, Sendable {
        /// The leader of `leaderEpoch`, or -1 when unknown.
        public var leaderID: NodeID
        /// The latest epoch this node knows.
        public var leaderEpoch: LeaderEpoch
        /// The candidate this node voted for in `leaderEpoch`, or -1.
        public var votedID: NodeID
        /// The directory id of that candidate (KIP-853), all zeros when unknown or not voted (version 1).
        public var votedDirectoryID: KafkaUUID
        /// The voter ids (version 0 only; nil is JSON null).
        public var currentVoters: [NodeID]?
        /// The format version: 0 or 1. Kafka: `data_version`.
        public var dataVersion: Int16

        public init(
            leaderID: NodeID = -1, leaderEpoch: LeaderEpoch = 0, votedID: NodeID = -1,
            votedDirectoryID: KafkaUUID = .zero, currentVoters: [NodeID]? = nil, dataVersion: Int16 = 1
        ) {
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.votedID = votedID
            self.votedDirectoryID = votedDirectoryID
            self.currentVoters = currentVoters
            self.dataVersion = dataVersion
        }
    }

    /// The file's path.
    public let path: String

    /// The `quorum-state` file of a metadata partition folder (`.../__cluster_metadata-0`).
    public init(partitionDirectory: String) {
        path = partitionDirectory + "/" + Self.fileName
    }

    /// The stored state, or nil if the file does not exist (a node that never voted or followed).
    public func read() throws(LogError) -> State? {
        guard let bytes = try DurableFile.read(path, limit: Self.maximumBytes) else { return nil }
        return try Self.decode(bytes, path: path)
    }

    /// Replaces the file with `state`, durably, before the caller acts on it (grants the vote, follows the leader).
    public func write(_ state: State) throws(LogError) {
        precondition((0...1).contains(state.dataVersion), "quorum state data version \(state.dataVersion)")
        try DurableFile.write(ByteBuffer(string: Self.encode(state)), to: path, via: path + ".tmp")
    }

    /// The JSON line Kafka writes for `state` (no trailing newline, as Kafka).
    static func encode(_ state: State) -> String {
        var fields = [String]()
        if state.dataVersion == 0 { fields.append("\"clusterId\":\"\"") }
        fields.append("\"leaderId\":\(state.leaderID)")
        fields.append("\"leaderEpoch\":\(state.leaderEpoch)")
        fields.append("\"votedId\":\(state.votedID)")
        if state.dataVersion >= 1 {
            fields.append("\"votedDirectoryId\":\"\(state.votedDirectoryID.base64URLEncoded)\"")
        } else {
            fields.append("\"appliedOffset\":0")
            let voters = state.currentVoters.map { "[" + $0.map { "{\"voterId\":\($0)}" }.joined(separator: ",") + "]" }
            fields.append("\"currentVoters\":\(voters ?? "null")")
        }
        fields.append("\"data_version\":\(state.dataVersion)")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Parses the first line as Kafka does: an object with `data_version` 0 or 1 and that version's fields.
    static func decode(_ bytes: ByteBuffer, path: String) throws(LogError) -> State {
        let view = bytes.readableBytesView
        let line = view.prefix { $0 != UInt8(ascii: "\n") }
        guard !line.isEmpty else { throw LogError(.corrupt, "\(path): the quorum state file is empty") }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(line))
        } catch {
            throw LogError(.corrupt, "\(path): the quorum state is not a JSON object of its fields: \(error)")
        }
        guard let version = fields.data_version else {
            throw LogError(.corrupt, "\(path): the quorum state has no data_version field")
        }
        guard (0...1).contains(version) else {
            throw LogError(
                .corrupt, "\(path): data_version (\(version)) is not within the min (0) and max (1) supported")
        }
        func required<T>(_ value: T?, _ name: String) throws(LogError) -> T {
            guard let value else {
                throw LogError(.corrupt, "\(path): field '\(name)' is missing; it is mandatory in version \(version)")
            }
            return value
        }
        var state = State(
            leaderID: try required(fields.leaderId, "leaderId"),
            leaderEpoch: try required(fields.leaderEpoch, "leaderEpoch"),
            votedID: try required(fields.votedId, "votedId"), dataVersion: version)
        if version >= 1 {
            let text = try required(fields.votedDirectoryId, "votedDirectoryId")
            guard let directoryID = KafkaUUID(base64URLEncoded: text) else {
                throw LogError(.corrupt, "\(path): votedDirectoryId '\(text)' is not a base64 uuid")
            }
            state.votedDirectoryID = directoryID
        } else {
            state.currentVoters = fields.currentVoters?.map(\.voterId)
        }
        return state
    }

    /// The JSON object as Kafka's converter names its fields; every field optional so that a missing one is reported
    /// by name for the version that needs it.
    private struct Fields: Decodable {
        struct Voter: Decodable { var voterId: Int32 }
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var data_version: Int16?
        var leaderId: Int32?
        var leaderEpoch: Int32?
        var votedId: Int32?
        var votedDirectoryId: String?
        var currentVoters: [Voter]?
    }
}
