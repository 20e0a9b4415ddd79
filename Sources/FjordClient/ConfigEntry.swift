/// One config value as described.
public struct ConfigEntry: Sendable, Hashable {
    public var name: String
    public var value: String?
    public var isReadOnly: Bool
    public var isDefault: Bool
    public var isSensitive: Bool
    /// Kafka's config source code (1 dynamic topic, 4 static broker, 5 default, ...).
    public var source: Int8
}
