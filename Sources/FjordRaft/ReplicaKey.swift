import KafkaProtocol

/// A replica of the metadata log: its `node.id` and, since KIP-853, the id of the log directory it runs from (so
/// that a node which lost its disk comes back as a different replica and cannot vote twice). `directoryID` is nil
/// where the peer did not send one (Kafka's zero uuid on the wire).
public struct ReplicaKey: Hashable, Sendable, CustomStringConvertible {
    public var id: NodeID
    public var directoryID: KafkaUUID?

    public init(id: NodeID, directoryID: KafkaUUID? = nil) {
        self.id = id
        self.directoryID = directoryID
    }

    /// Builds a key from the wire form, where the zero uuid means "no directory id".
    public init(id: NodeID, wireDirectoryID: KafkaUUID) {
        self.init(id: id, directoryID: wireDirectoryID == .zero ? nil : wireDirectoryID)
    }

    /// The directory id as the wire carries it (zero for none).
    public var wireDirectoryID: KafkaUUID { directoryID ?? .zero }

    /// Whether `other` names the same replica, treating a missing directory id on either side as a wildcard
    /// (Kafka matches keys this way while voters without directory ids are still in use).
    public func matches(_ other: ReplicaKey) -> Bool {
        guard id == other.id else { return false }
        guard let mine = directoryID, let theirs = other.directoryID else { return true }
        return mine == theirs
    }

    public var description: String {
        if let directoryID { return "\(id)/\(directoryID)" }
        return "\(id)"
    }
}
