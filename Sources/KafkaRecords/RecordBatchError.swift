/// An operational error from decoding, validating, building or (de)compressing record batches.
///
/// Hostile or corrupt input always surfaces as a `RecordBatchError`, never as a trap. The `code` says what kind of
/// problem it is (and which Kafka error code a broker should answer with); the `message` says what exactly was wrong.
public struct RecordBatchError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem occurred. Extensible: new codes may be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A stable, human-readable identifier such as `"crcMismatch"`.
        public let name: String
        /// The Kafka error code a broker answers with when a client sent input failing this way.
        public let kafkaErrorCode: Int16

        /// Creates a code; prefer the predefined static members.
        public init(name: String, kafkaErrorCode: Int16) {
            self.name = name
            self.kafkaErrorCode = kafkaErrorCode
        }

        public var description: String { name }

        /// Fewer bytes than the declared lengths need (a batch, a record, a varint, a compressed stream).
        public static let truncated = Code(name: "truncated", kafkaErrorCode: 2)  // CORRUPT_MESSAGE
        /// The stored CRC-32C does not match the bytes.
        public static let crcMismatch = Code(name: "crcMismatch", kafkaErrorCode: 2)  // CORRUPT_MESSAGE
        /// The magic byte is not 2; older message formats are not supported.
        public static let unsupportedMagic = Code(name: "unsupportedMagic", kafkaErrorCode: 2)  // CORRUPT_MESSAGE
        /// A length field is negative, too small, or disagrees with the bytes present.
        public static let invalidLength = Code(name: "invalidLength", kafkaErrorCode: 2)  // CORRUPT_MESSAGE
        /// A varint is longer than its type allows.
        public static let invalidVarint = Code(name: "invalidVarint", kafkaErrorCode: 2)  // CORRUPT_MESSAGE
        /// The record count is negative, implausible, or disagrees with the records present.
        public static let invalidRecordCount = Code(name: "invalidRecordCount", kafkaErrorCode: 87)  // INVALID_RECORD
        /// A record inside the batch is malformed.
        public static let invalidRecord = Code(name: "invalidRecord", kafkaErrorCode: 87)  // INVALID_RECORD
        /// The compression bits name a codec that does not exist.
        public static let unsupportedCompression = Code(
            name: "unsupportedCompression",
            kafkaErrorCode: 76  // UNSUPPORTED_COMPRESSION_TYPE
        )
        /// The compressed data could not be decompressed (or the library failed to compress).
        public static let compressionFailed = Code(name: "compressionFailed", kafkaErrorCode: 2)  // CORRUPT_MESSAGE
        /// Decompressing would produce more bytes than the caller allowed (a "zip bomb" or an oversized batch).
        public static let decompressedSizeLimitExceeded = Code(
            name: "decompressedSizeLimitExceeded",
            kafkaErrorCode: 10  // MESSAGE_TOO_LARGE
        )
    }

    /// What kind of problem occurred.
    public var code: Code
    /// What exactly was wrong, for logs.
    public var message: String
    /// The underlying error, if another layer reported it.
    public var cause: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause {
            return "RecordBatchError(\(code.name)): \(message) (cause: \(cause))"
        }
        return "RecordBatchError(\(code.name)): \(message)"
    }
}
