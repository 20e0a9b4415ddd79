/// Why bytes from the wire (or the disk) could not be decoded into a Kafka message.
///
/// Decoders never trap on hostile input: every length and count is checked against the
/// bytes that remain before anything is allocated, and a violation throws one of these.
public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of violation, extensible without breaking callers that switch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Fewer bytes remain than the field needs.
        public static let truncated = Code(name: "truncated")
        /// A length or count is negative where that is not allowed, or larger than the bytes that remain.
        public static let invalidLength = Code(name: "invalid length")
        /// A null where the version does not allow one.
        public static let unexpectedNull = Code(name: "unexpected null")
        /// A variable-length integer longer than its type allows.
        public static let varintOverflow = Code(name: "varint overflow")
        /// A string that is not valid UTF-8.
        public static let invalidUTF8 = Code(name: "invalid UTF-8")
        /// The version is outside the message's valid versions.
        public static let unsupportedVersion = Code(name: "unsupported version")
        /// The API key names no known API.
        public static let unknownApiKey = Code(name: "unknown api key")
        /// Bytes were left over after the message ended.
        public static let trailingBytes = Code(name: "trailing bytes")
        /// A field holds a value its schema does not allow (an unknown enumeration value).
        public static let invalidValue = Code(name: "invalid value")
        public var description: String { name }
    }

    public var code: Code
    /// What was being read, e.g. `MetadataRequest.topics`.
    public var context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code) while reading \(context)" }
}
