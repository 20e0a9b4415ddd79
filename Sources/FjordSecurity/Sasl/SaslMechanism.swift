/// The SASL mechanisms Fjord's listeners offer, by the names Kafka's clients send in SaslHandshake
/// (`sasl.mechanism`) and brokers list in `sasl.enabled.mechanisms`.
///
/// GSSAPI (Kerberos) — Kafka's default for `sasl.enabled.mechanisms` — is not among them: a listener that would
/// enable it is refused at start-up, naming the key.
public enum SaslMechanism: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case plain = "PLAIN"
    case scramSHA256 = "SCRAM-SHA-256"
    case scramSHA512 = "SCRAM-SHA-512"
    case oauthBearer = "OAUTHBEARER"

    /// The SCRAM hash of a SCRAM mechanism; nil for PLAIN.
    public var scram: ScramMechanism? {
        switch self {
        case .plain, .oauthBearer: return nil
        case .scramSHA256: return .sha256
        case .scramSHA512: return .sha512
        }
    }

    public var description: String { rawValue }
}
