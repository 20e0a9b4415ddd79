import KafkaProtocol

/// The per-item outcome of a controller command: a Kafka error code and message, carried as data.
public struct ItemResult: Error, Sendable, Equatable {
    public var error: ErrorCode
    public var message: String?

    public init(_ error: ErrorCode = .none, _ message: String? = nil) {
        self.error = error
        self.message = message
    }

    public static let ok = ItemResult()
    public var isOK: Bool { error == .none }
}

/// What a command produced: the records to append to the metadata log (applied to the image only once
/// committed) and the answer for the client.
public struct ControllerResult<Response: Sendable>: Sendable {
    public var records: [MetadataRecord]
    public var response: Response

    public init(records: [MetadataRecord], response: Response) {
        self.records = records
        self.response = response
    }
}
