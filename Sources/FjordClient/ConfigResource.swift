/// What a config describes: a topic or a broker.
public struct ConfigResource: Sendable, Hashable {
    /// Kafka's resource type codes.
    public enum Kind: Int8, Sendable {
        case topic = 2
        case broker = 4
    }

    public var kind: Kind
    public var name: String

    public init(_ kind: Kind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    public static func topic(_ name: String) -> ConfigResource { ConfigResource(.topic, name) }
    public static func broker(_ id: Int32) -> ConfigResource { ConfigResource(.broker, "\(id)") }
}
