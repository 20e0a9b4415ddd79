/// One change of an incremental config alteration.
public struct ConfigAlteration: Sendable, Hashable {
    /// Kafka's operation codes.
    public enum Operation: Int8, Sendable {
        case set = 0
        case delete = 1
        case append = 2
        case subtract = 3
    }

    public var name: String
    public var operation: Operation
    public var value: String?

    public init(name: String, operation: Operation = .set, value: String?) {
        self.name = name
        self.operation = operation
        self.value = value
    }
}
