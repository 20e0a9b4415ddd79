import KafkaProtocol

/// The versions of each API that FjordClient's own code speaks. By default all versions of the generated type; some
/// APIs are capped where a newer version changes how the client must address topics.
enum ClientVersions {
    /// Fetch v13+ names topics only by id; the client keeps names (v12 and below).
    static let caps: [Int16: Int16] = [
        FetchRequest.apiKey.rawValue: 12,
    ]

    static func supported<R: KafkaRequest>(_ type: R.Type) -> ClosedRange<Int16> {
        let valid = R.validVersions
        guard let cap = caps[R.apiKey.rawValue] else { return valid }
        return valid.lowerBound...min(cap, valid.upperBound)
    }
}
