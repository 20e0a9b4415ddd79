import FjordStorage
import Foundation
import KafkaProtocol

/// `meta.properties` in each data directory, in Kafka's KRaft format (version 1):
///
/// ```
/// #
/// #<date written>
/// cluster.id=<22-character base64 uuid>
/// directory.id=<22-character base64 uuid>
/// node.id=<int>
/// version=1
/// ```
///
/// Without `process.roles` the file is written when a directory is first used (atomically: temp file, fsync,
/// rename); in KRaft mode only `fjord storage format` writes it, and a node refuses to start without it, as Kafka.
/// It is checked on every start: a directory that belongs to another node or cluster is refused rather than
/// silently reused.
public struct MetaProperties: Equatable, Sendable {
    public static let fileName = "meta.properties"

    public var clusterID: String
    public var nodeID: NodeID
    public var directoryID: String

    public init(clusterID: String, nodeID: NodeID, directoryID: String) {
        self.clusterID = clusterID
        self.nodeID = nodeID
        self.directoryID = directoryID
    }

    /// Kafka's text form.
    public var text: String {
        """
        #
        #\(Date())
        cluster.id=\(clusterID)
        directory.id=\(directoryID)
        node.id=\(nodeID)
        version=1

        """
    }

    /// Parses the file's text; nil fields are errors naming the key.
    public init(parsing text: String, path: String) throws(ConfigurationError) {
        var values = [String: String]()
        for entry in try PropertiesFile.parse(text) { values[entry.key] = entry.value }
        guard values["version"] == "1" else {
            throw ConfigurationError(
                key: nil, "\(path): unsupported meta.properties version '\(values["version"] ?? "none")'")
        }
        guard let clusterID = values["cluster.id"], !clusterID.isEmpty else {
            throw ConfigurationError(key: nil, "\(path): cluster.id is missing")
        }
        guard let nodeText = values["node.id"], let nodeID = Int32(nodeText) else {
            throw ConfigurationError(key: nil, "\(path): node.id is missing or not an integer")
        }
        self.init(clusterID: clusterID, nodeID: nodeID, directoryID: values["directory.id"] ?? "")
    }

    /// The directory's `meta.properties`, or nil when it has none (an unformatted directory).
    public static func load(directory: String) throws -> MetaProperties? {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try MetaProperties(parsing: String(decoding: data, as: UTF8.self), path: path)
    }

    /// Writes the file into `directory` (which must exist), atomically.
    public func write(to directory: String) throws {
        try AtomicFile.write(text, to: directory + "/" + Self.fileName)
    }

    /// Whether `text` is a cluster id Kafka accepts: a 16-byte uuid in URL-safe base64 (22 characters).
    public static func isValidClusterID(_ text: String) -> Bool {
        KafkaUUID(base64URLEncoded: text) != nil
    }

    /// Loads the directory's `meta.properties`, or creates the directory and the file for a new node:
    /// the cluster id is generated once and then kept.
    public static func loadOrCreate(directory: String, nodeID: NodeID, clusterID: String? = nil) throws
        -> MetaProperties
    {
        let path = directory + "/" + fileName
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let data = FileManager.default.contents(atPath: path) {
            let existing = try MetaProperties(parsing: String(decoding: data, as: UTF8.self), path: path)
            guard existing.nodeID == nodeID else {
                throw ConfigurationError(
                    key: "node.id",
                    "\(path) belongs to node \(existing.nodeID), not \(nodeID); use another log.dirs or node.id \(existing.nodeID)"
                )
            }
            return existing
        }
        let created = MetaProperties(
            clusterID: clusterID ?? KafkaUUID.randomIdentifier().base64URLEncoded, nodeID: nodeID,
            directoryID: KafkaUUID.randomIdentifier().base64URLEncoded
        )
        try AtomicFile.write(created.text, to: path)
        return created
    }
}
