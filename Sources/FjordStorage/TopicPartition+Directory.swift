import KafkaProtocol

extension TopicPartition {
    /// The partition's folder name in a data directory, as Kafka names it: `<topic>-<partition>`.
    public var directoryName: String { "\(topic)-\(partition)" }

    /// Parses a partition folder name (`orders-3`); nil if it is not one.
    public init?(directoryName: String) {
        guard let dash = directoryName.lastIndex(of: "-"),
            let partition = Int32(directoryName[directoryName.index(after: dash)...]),
            partition >= 0, dash > directoryName.startIndex
        else { return nil }
        self.init(String(directoryName[..<dash]), partition)
    }
}
