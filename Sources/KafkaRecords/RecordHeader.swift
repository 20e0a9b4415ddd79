import NIOCore

/// One header of a record: a UTF-8 key (never null) and an optional value.
public struct RecordHeader: Sendable, Hashable {
    /// The header key. Kafka requires it to be non-null.
    public var key: String
    /// The header value; `nil` is encoded as length -1.
    public var value: ByteBuffer?

    /// Creates a header.
    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }

    /// Creates a header whose value is the UTF-8 bytes of `value`.
    public init(key: String, value: String?) {
        self.key = key
        self.value = value.map { ByteBuffer(string: $0) }
    }
}
