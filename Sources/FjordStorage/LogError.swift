/// An operational storage failure: what was being done, to which partition or file, and why.
public struct LogError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A read or write of a file failed (the `errno` is in the message).
        public static let io = Code(name: "I/O error")
        /// An offset outside `[logStartOffset, logEndOffset]` (Kafka: OFFSET_OUT_OF_RANGE).
        public static let offsetOutOfRange = Code(name: "offset out of range")
        /// Bytes on disk or handed to append are not valid record batches (Kafka: CORRUPT_MESSAGE).
        public static let corrupt = Code(name: "corrupt")
        /// An append whose offsets do not follow the log end (a follower append that overlaps, for one).
        public static let invalidOffset = Code(name: "invalid offset")
        /// The log was closed.
        public static let closed = Code(name: "closed")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
