/// What a server keeps of a SCRAM user (RFC 5802 §3): never the password, only the salt, the iteration count, and
/// the stored and server keys derived from the salted password. Kafka stores these in UserScramCredentialRecord.
public struct ScramCredential: Sendable, Hashable {
    public var mechanism: ScramMechanism
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]
    public var iterations: Int32

    public init(mechanism: ScramMechanism, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8], iterations: Int32) {
        self.mechanism = mechanism
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
        self.iterations = iterations
    }

    /// Derives the credential of `password` (what `--add-scram` and AlterUserScramCredentials' salted password
    /// become): SaltedPassword = Hi(password, salt, i), StoredKey = H(HMAC(SaltedPassword, "Client Key")),
    /// ServerKey = HMAC(SaltedPassword, "Server Key").
    public init(mechanism: ScramMechanism, password: String, salt: [UInt8], iterations: Int32) {
        let salted = mechanism.saltedPassword(Array(password.utf8), salt: salt, iterations: iterations)
        self.init(mechanism: mechanism, saltedPassword: salted, salt: salt, iterations: iterations)
    }

    /// The credential of an already salted password (AlterUserScramCredentials carries the salted password).
    public init(mechanism: ScramMechanism, saltedPassword: [UInt8], salt: [UInt8], iterations: Int32) {
        let clientKey = mechanism.hmac(key: saltedPassword, Array("Client Key".utf8))
        self.init(
            mechanism: mechanism, salt: salt, storedKey: mechanism.hash(clientKey),
            serverKey: mechanism.hmac(key: saltedPassword, Array("Server Key".utf8)), iterations: iterations)
    }
}
