import Crypto

/// A SCRAM hash function (RFC 5802 with SHA-256 or SHA-512, RFC 7677), with Kafka's codes and iteration bounds.
public enum ScramMechanism: Int8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The codes of Kafka's `ScramMechanism` (UserScramCredentialRecord, Describe/AlterUserScramCredentials).
    case sha256 = 1
    case sha512 = 2

    /// Kafka refuses fewer iterations (UNACCEPTABLE_CREDENTIAL "Too few iterations"): RFC 7677's minimum.
    public static let minimumIterations: Int32 = 4096
    /// And more than this ("Too many iterations").
    public static let maximumIterations: Int32 = 16384

    public var saslMechanism: SaslMechanism { self == .sha256 ? .scramSHA256 : .scramSHA512 }
    public var description: String { saslMechanism.rawValue }

    /// A nonce half (client's or server's): 24 random printable characters, never a comma (RFC 5802 §5.1).
    public static func randomNonce() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    /// H(data).
    func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }

    /// HMAC(key, data).
    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    /// Hi(password, salt, i) of RFC 5802: PBKDF2 with this HMAC and one block of output.
    public func saltedPassword(_ password: [UInt8], salt: [UInt8], iterations: Int32) -> [UInt8] {
        var previous = hmac(key: password, salt + [0, 0, 0, 1])
        var result = previous
        for _ in 1..<max(iterations, 1) {
            previous = hmac(key: password, previous)
            for index in result.indices { result[index] ^= previous[index] }
        }
        return result
    }
}
