import NIOCore

/// A value with a versioned Kafka wire encoding: every generated request, response, header
/// and stored record, and each struct nested in them.
public protocol KafkaMessage: Sendable, Equatable {
    /// Decodes one value of `version` from the front of `buffer`, consuming exactly its bytes.
    init(from buffer: inout ByteBuffer, version: Int16) throws(DecodeError)
    /// Encodes the value in `version`. Fields the version lacks are left out.
    func write(to buffer: inout ByteBuffer, version: Int16)
}

/// A top-level message described by one Kafka JSON spec, with the versions it has.
public protocol KafkaVersionedMessage: KafkaMessage {
    /// The versions the spec defines (`validVersions`).
    static var validVersions: ClosedRange<Int16> { get }
    /// The first version that uses compact encodings and tagged fields, or nil if none does.
    static var firstFlexibleVersion: Int16? { get }
}

extension KafkaVersionedMessage {
    /// Whether `version` uses the flexible (compact, tagged-field) encoding.
    @inlinable
    public static func isFlexible(_ version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }
}

/// A request body of one Kafka API.
public protocol KafkaRequest: KafkaVersionedMessage {
    associatedtype Response: KafkaResponse
    static var apiKey: ApiKey { get }
}

extension KafkaRequest {
    /// The request header version this request version is sent with: v2 in flexible versions,
    /// otherwise v1 (ControlledShutdown v0 alone used v0, and Fjord does not serve it).
    @inlinable
    public static func requestHeaderVersion(for version: Int16) -> Int16 {
        isFlexible(version) ? 2 : 1
    }

    /// The response header version: v1 in flexible versions, else v0. ApiVersions always answers with
    /// v0 so that a client can read the answer before it knows which versions the broker speaks.
    @inlinable
    public static func responseHeaderVersion(for version: Int16) -> Int16 {
        apiKey == .apiVersions ? 0 : (isFlexible(version) ? 1 : 0)
    }
}

/// A response body of one Kafka API.
public protocol KafkaResponse: KafkaVersionedMessage {}

extension KafkaMessage {
    /// Decodes a whole value: fails if bytes are left over after it.
    public static func decodeWhole(from buffer: ByteBuffer, version: Int16) throws(DecodeError) -> Self {
        var buffer = buffer
        let value = try Self(from: &buffer, version: version)
        guard buffer.readableBytes == 0 else { throw DecodeError(.trailingBytes, "\(Self.self)") }
        return value
    }

    /// The encoding of the value in `version` as a new buffer.
    public func encoded(version: Int16, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        write(to: &buffer, version: version)
        return buffer
    }
}
