/// The number that names a Kafka API in every request header (`Produce` is 0, `Fetch` 1, ...).
///
/// The named constants, `name` and the table of request types are generated from the specs
/// (`Generated/ApiKey+Generated.swift`).
public struct ApiKey: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: Int16

    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// The API's name as Kafka writes it ("Produce", "ApiVersions"), or `ApiKey(n)` for unknown keys.
    public var name: String { Self.names[rawValue] ?? "ApiKey(\(rawValue))" }

    public var description: String { name }

    public static func < (lhs: ApiKey, rhs: ApiKey) -> Bool { lhs.rawValue < rhs.rawValue }
}
