import KafkaProtocol

/// `partition.metadata` in a partition folder, Kafka's format:
///
/// ```
/// version: 0
/// topic_id: <22-character base64 uuid>
/// ```
///
/// It ties the folder to one topic id, so a topic deleted and re-created with the same name is not confused with
/// the old one's data.
enum PartitionMetadataFile {
    static func loadOrCreate(directory: String, topicID: KafkaUUID) throws(LogError) -> KafkaUUID {
        let path = directory + "/partition.metadata"
        if let text = try CheckpointFile.read(path) {
            for line in text.split(separator: "\n") where line.hasPrefix("topic_id: ") {
                if let stored = KafkaUUID(base64URLEncoded: String(line.dropFirst("topic_id: ".count))) {
                    if topicID != .zero, stored != topicID {
                        throw LogError(.corrupt, "\(path) holds topic id \(stored), expected \(topicID)")
                    }
                    return stored
                }
            }
            throw LogError(.corrupt, "\(path): no valid topic_id line")
        }
        try CheckpointFile.writeAtomically("version: 0\ntopic_id: \(topicID.base64URLEncoded)\n", to: path)
        return topicID
    }
}
