/// An operational failure of the metadata quorum's driver: what was being done and why (a disk error, a corrupt
/// metadata log, a peer that answered something unreadable, a command that could not be committed).
struct RaftDriverError: Error, Sendable, CustomStringConvertible {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The metadata log, a snapshot or `quorum-state` could not be read or written.
        static let io = Code(name: "I/O error")
        /// Bytes on disk or from a peer are not what the metadata log holds.
        static let corrupt = Code(name: "corrupt")
        /// A batch could not be encoded.
        static let encoding = Code(name: "encoding")
        /// This node does not lead the quorum (Kafka: NOT_CONTROLLER).
        static let notController = Code(name: "not controller")
        /// This node leads, but its epoch's first batch has not committed yet: retry shortly.
        static let leaderNotReady = Code(name: "leader not ready")
        /// The records were not committed in time (Kafka: REQUEST_TIMED_OUT).
        static let timedOut = Code(name: "timed out")
        /// The driver stopped (shutdown) before the work was done.
        static let stopped = Code(name: "stopped")
        var description: String { name }
    }

    var code: Code
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { "\(code): \(message)" }
}
