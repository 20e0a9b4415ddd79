import KafkaProtocol
import NIOPosix

/// The one table of served APIs (STYLE.md §5). ApiVersions answers from it, and the connection handler routes
/// by it; an API missing here is neither advertised nor answered.
public struct APIRegistry: Sendable {
    private(set) var handlers: [ApiKey: AnyAPIHandler] = [:]
    /// Runs the handlers that declare `.ioThreadPool` execution (nil: in place, for connection tests).
    private let ioThreads: NIOThreadPool?

    public init(ioThreads: NIOThreadPool? = nil) {
        self.ioThreads = ioThreads
    }

    public mutating func register<Handler: APIHandler>(_ handler: Handler) {
        let erased = AnyAPIHandler(handler, ioThreads: ioThreads)
        precondition(handlers[erased.apiKey] == nil, "two handlers for \(erased.apiKey)")
        handlers[erased.apiKey] = erased
    }

    func handler(for apiKey: ApiKey) -> AnyAPIHandler? { handlers[apiKey] }

    /// The served APIs and their version ranges, ordered by key, as ApiVersions reports them.
    public var supportedVersions: [(apiKey: ApiKey, versions: ClosedRange<Int16>)] {
        handlers.values.map { ($0.apiKey, $0.versions) }.sorted { $0.apiKey < $1.apiKey }
    }
}
