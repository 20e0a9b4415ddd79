import Foundation

/// The server side of SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka's `ScramSaslServer`:
///
///     client-first   n,[a=authzid],n=user,r=cnonce[,ext]      → server-first  r=cnonce+snonce,s=salt,i=iterations
///     client-final   c=base64(gs2 header),r=nonce[,ext],p=proof → server-final  v=base64(ServerSignature)
///
/// The proof is checked against the stored key: ClientKey = proof XOR HMAC(StoredKey, AuthMessage) must hash to
/// StoredKey. An unknown user fails at the first message with the same words as a wrong password. Channel binding
/// is refused (Kafka's clients send `n,,`), and so is `tokenauth` (delegation tokens are not served).
public struct ScramServerExchange: SaslServerExchange {
    private enum State {
        case awaitingClientFirst
        case awaitingClientFinal(
            gs2Header: String, clientFirstBare: String, serverFirst: String, nonce: String,
            user: String, credential: ScramCredential)
        case finished
    }

    public let mechanism: SaslMechanism
    private let scram: ScramMechanism
    private let credential: @Sendable (String) -> ScramCredential?
    private let serverNonce: String
    private var state = State.awaitingClientFirst

    /// `credential` finds a user's credential for this mechanism; `serverNonce` is the server's half of the nonce
    /// (printable, no comma), random per exchange — given, so that a test can replay RFC 7677's example.
    public init(
        mechanism: ScramMechanism, serverNonce: String, credential: @escaping @Sendable (String) -> ScramCredential?
    ) {
        self.mechanism = mechanism.saslMechanism
        self.scram = mechanism
        self.serverNonce = serverNonce
        self.credential = credential
    }

    private var invalidCredentials: SaslStep {
        .failed(
            SaslAuthenticationFailure(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism "
                    + mechanism.rawValue))
    }

    public mutating func evaluate(_ token: [UInt8]) -> SaslStep {
        let message = String(decoding: token, as: UTF8.self)
        switch state {
        case .awaitingClientFirst:
            return clientFirst(message)
        case .awaitingClientFinal(
            let gs2Header, let clientFirstBare, let serverFirst, let nonce, let user, let credential):
            state = .finished
            return clientFinal(
                message, gs2Header: gs2Header, clientFirstBare: clientFirstBare, serverFirst: serverFirst, nonce: nonce,
                user: user, credential: credential)
        case .finished:
            return .failed(SaslAuthenticationFailure("Authentication failed: the SCRAM exchange is over"))
        }
    }

    private mutating func clientFirst(_ message: String) -> SaslStep {
        state = .finished
        // gs2-header: "n," then an optional "a=authzid", then ","; channel binding ("p=", "y") is not offered.
        let fields = message.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 3, fields[0] == "n", fields[1].isEmpty || fields[1].hasPrefix("a=") else {
            return .failed(SaslAuthenticationFailure("Invalid SCRAM client first message: \(message.prefix(100))"))
        }
        let gs2Header = "n,\(fields[1]),"
        let clientFirstBare = fields[2]
        let attributes = Self.attributes(clientFirstBare)
        guard let encodedUser = attributes.first(where: { $0.key == "n" })?.value,
            let clientNonce = attributes.first(where: { $0.key == "r" })?.value, !clientNonce.isEmpty,
            let user = Self.decodeSaslName(encodedUser), !user.isEmpty
        else {
            return .failed(SaslAuthenticationFailure("Invalid SCRAM client first message: \(message.prefix(100))"))
        }
        if attributes.contains(where: { $0.key == "tokenauth" && $0.value.lowercased() == "true" }) {
            return .failed(SaslAuthenticationFailure("Authentication failed: delegation tokens are not supported"))
        }
        if fields[1].hasPrefix("a="), Self.decodeSaslName(String(fields[1].dropFirst(2))) != user {
            return .failed(
                SaslAuthenticationFailure(
                    "Authentication failed: Client requested an authorization id that is different from username"))
        }
        guard let credential = credential(user), credential.mechanism == scram else { return invalidCredentials }
        let nonce = clientNonce + serverNonce
        let serverFirst = "r=\(nonce),s=\(Data(credential.salt).base64EncodedString()),i=\(credential.iterations)"
        state = .awaitingClientFinal(
            gs2Header: gs2Header, clientFirstBare: clientFirstBare, serverFirst: serverFirst, nonce: nonce, user: user,
            credential: credential)
        return .challenge(Array(serverFirst.utf8))
    }

    private func clientFinal(
        _ message: String, gs2Header: String, clientFirstBare: String, serverFirst: String, nonce: String,
        user: String, credential: ScramCredential
    ) -> SaslStep {
        guard let proofStart = message.range(of: ",p=", options: .backwards) else {
            return .failed(SaslAuthenticationFailure("Invalid SCRAM client final message: no proof"))
        }
        let withoutProof = String(message[..<proofStart.lowerBound])
        let attributes = Self.attributes(withoutProof)
        guard let channelBinding = attributes.first(where: { $0.key == "c" })?.value,
            Data(base64Encoded: channelBinding).map({ Array($0) }) == Array(gs2Header.utf8)
        else {
            return .failed(SaslAuthenticationFailure("Invalid SCRAM client final message: channel binding mismatch"))
        }
        guard attributes.first(where: { $0.key == "r" })?.value == nonce else {
            return .failed(SaslAuthenticationFailure("Invalid SCRAM client final message: nonce mismatch"))
        }
        guard let proof = Data(base64Encoded: String(message[proofStart.upperBound...])).map({ Array($0) }),
            proof.count == credential.storedKey.count
        else { return invalidCredentials }
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = scram.hmac(key: credential.storedKey, authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard constantTimeEquals(scram.hash(clientKey), credential.storedKey) else { return invalidCredentials }
        let serverSignature = scram.hmac(key: credential.serverKey, authMessage)
        return .succeeded(user: user, finalToken: Array("v=\(Data(serverSignature).base64EncodedString())".utf8))
    }

    /// `k=v,k=v` attributes in order (a value may contain `=`).
    private static func attributes(_ text: String) -> [(key: String, value: String)] {
        text.split(separator: ",", omittingEmptySubsequences: true).map { part in
            guard let equals = part.firstIndex(of: "=") else { return (String(part), "") }
            return (String(part[..<equals]), String(part[part.index(after: equals)...]))
        }
    }

    /// A saslname (RFC 5802 §5.1): `=2C` is a comma, `=3D` an equals sign; any other `=` is invalid.
    static func decodeSaslName(_ name: String) -> String? {
        var result = ""
        var rest = Substring(name)
        while let equals = rest.firstIndex(of: "=") {
            result += rest[..<equals]
            let code = rest[equals...].prefix(3)
            switch code {
            case "=2C": result += ","
            case "=3D": result += "="
            default: return nil
            }
            rest = rest[equals...].dropFirst(3)
        }
        return result + rest
    }
}
