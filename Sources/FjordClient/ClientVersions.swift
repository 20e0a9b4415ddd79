import KafkaProtocol

/// The versions of each API that FjordClient's own code speaks. By default all versions of the generated type; some
/// APIs are capped where a newer version changes how the client must address topics.
enum ClientVersions {
    static let caps: [Int16: Int16] = [
        // Fetch v13+ names topics only by id; the client keeps names (v12 and below).
        FetchRequest.apiKey.rawValue: 12,
        // AddPartitionsToTxn v4+ is the brokers' batched verification form (KIP-890); clients speak v3 and below.
        AddPartitionsToTxnRequest.apiKey.rawValue: 3,
        // EndTxn v5 means transaction version 2 (an epoch bump per transaction), which the producer does not run.
        EndTxnRequest.apiKey.rawValue: 4,
    ]

    static func supported<R: KafkaRequest>(_ type: R.Type) -> ClosedRange<Int16> {
        let valid = R.validVersions
        guard let cap = caps[R.apiKey.rawValue] else { return valid }
        return valid.lowerBound...min(cap, valid.upperBound)
    }
}
