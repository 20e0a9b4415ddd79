/// Kafka's rules for topic names.
public enum TopicName {
    /// Kafka's limit (`Topic.MAX_NAME_LENGTH`).
    public static let maximumLength = 249

    /// Legal: 1-249 characters of ASCII letters, digits, '.', '_' and '-', and not "." or "..".
    public static func isValid(_ name: String) -> Bool { problem(with: name) == nil }

    /// Why the name is not legal, in Kafka's words; nil if it is.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "Topic name is illegal, it can't be empty" }
        if name == "." || name == ".." { return "Topic name cannot be \".\" or \"..\"" }
        if name.utf8.count > maximumLength {
            return "Topic name is illegal, it can't be longer than \(maximumLength) characters, topic name: \(name)"
        }
        let legal = name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "." || scalar == "_" || scalar == "-")
        }
        if !legal {
            return
                "Topic name \(name) is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        }
        return nil
    }

    /// The metadata log's topic (`Topic.CLUSTER_METADATA_TOPIC_NAME`): never a topic of the image.
    public static let clusterMetadata = "__cluster_metadata"

    /// Kafka's internal topics (`Topic.isInternal`): only their coordinators append to them.
    public static func isInternal(_ name: String) -> Bool {
        name == "__consumer_offsets" || name == "__transaction_state"
    }

    /// Topics only the broker writes: the internal topics and `__cluster_metadata`. A client's Produce or
    /// DeleteRecords on them is refused (INVALID_TOPIC_EXCEPTION), as are DeleteTopics and CreatePartitions.
    public static func isBrokerOwned(_ name: String) -> Bool { isInternal(name) || name == clusterMetadata }

    /// Kafka refuses two topics whose names differ only in '.' versus '_' (their metric names would collide).
    public static func collisionKey(_ name: String) -> String {
        String(name.map { $0 == "." ? "_" : $0 })
    }
}
