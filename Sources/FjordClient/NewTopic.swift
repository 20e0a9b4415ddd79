/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    /// Partitions; -1 for the broker's `num.partitions`.
    public var partitions: Int32
    /// Replicas per partition; -1 for the broker's `default.replication.factor`.
    public var replicationFactor: Int16
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}
