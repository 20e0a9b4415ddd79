import Foundation

/// The client side of a SASL exchange: what to send first, then what to answer to each server token, until the
/// server is satisfied. Used by FjordClient (and the CLI) on SASL_PLAINTEXT listeners.
public enum SaslClientStep: Sendable, Equatable {
    /// Send this token.
    case respond([UInt8])
    /// The exchange is over on this side; the server's verdict comes in its answer.
    case done
    /// The server's token is wrong (a SCRAM server signature that does not verify): do not trust this server.
    case failed(String)
}

/// A client's SASL exchange for one mechanism and one set of credentials.
public struct SaslClientExchange: Sendable {
    public enum Credentials: Sendable, Equatable {
        case password(user: String, password: String)
        /// OAUTHBEARER: a bearer token (a JWT), and the authorization id it may name.
        case token(String)
    }

    private enum State: Sendable {
        case initial
        case scramSentFirst(clientFirstBare: String)
        case scramSentFinal(serverSignature: [UInt8])
        case oauthSent
        case finished
    }

    public let mechanism: SaslMechanism
    private let credentials: Credentials
    private let clientNonce: String
    private var state = State.initial

    /// `clientNonce`: SCRAM's client nonce, random per exchange (given, so a test can replay RFC 7677).
    public init(mechanism: SaslMechanism, credentials: Credentials, clientNonce: String = ScramMechanism.randomNonce())
    {
        self.mechanism = mechanism
        self.credentials = credentials
        self.clientNonce = clientNonce
    }

    /// The first token (SaslAuthenticate's first request).
    public mutating func start() -> SaslClientStep {
        switch (mechanism, credentials) {
        case (.plain, .password(let user, let password)):
            state = .finished
            return .respond(Array("\0\(user)\0\(password)".utf8))
        case (.scramSHA256, .password(let user, _)), (.scramSHA512, .password(let user, _)):
            let bare = "n=\(Self.encodeSaslName(user)),r=\(clientNonce)"
            state = .scramSentFirst(clientFirstBare: bare)
            return .respond(Array("n,,\(bare)".utf8))
        case (.oauthBearer, .token(let token)):
            state = .oauthSent
            return .respond(Array("n,,\u{1}auth=Bearer \(token)\u{1}\u{1}".utf8))
        default:
            state = .finished
            return .failed("\(mechanism) needs \(mechanism == .oauthBearer ? "a token" : "a user and password")")
        }
    }

    /// The answer to a server token (SaslAuthenticate's response bytes).
    public mutating func evaluate(_ challenge: [UInt8]) -> SaslClientStep {
        switch state {
        case .scramSentFirst(let clientFirstBare):
            guard let scram = mechanism.scram, case .password(_, let password) = credentials else { return .done }
            return scramFinal(
                serverFirst: String(decoding: challenge, as: UTF8.self), clientFirstBare: clientFirstBare,
                password: password, scram: scram)
        case .scramSentFinal(let expected):
            state = .finished
            let serverFinal = String(decoding: challenge, as: UTF8.self)
            guard serverFinal.hasPrefix("v="),
                let signature = Data(base64Encoded: String(serverFinal.dropFirst(2))).map({ Array($0) }),
                constantTimeEquals(signature, expected)
            else {
                return .failed("the server's SCRAM signature does not verify: it does not hold this credential")
            }
            return .done
        case .oauthSent:
            // An error challenge (RFC 7628 §3.2.2): acknowledge it; the server then fails the exchange.
            state = .finished
            return challenge.isEmpty ? .done : .respond([1])
        case .initial, .finished:
            return .done
        }
    }

    private mutating func scramFinal(
        serverFirst: String, clientFirstBare: String, password: String, scram: ScramMechanism
    ) -> SaslClientStep {
        state = .finished
        var fields: [String: String] = [:]
        for part in serverFirst.split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        guard let nonce = fields["r"], nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count,
            let salt = fields["s"].flatMap({ Data(base64Encoded: $0) }).map({ Array($0) }),
            let iterations = fields["i"].flatMap({ Int32($0) }), iterations > 0
        else {
            return .failed("invalid SCRAM server-first message: \(serverFirst.prefix(100))")
        }
        let salted = scram.saltedPassword(Array(password.utf8), salt: salt, iterations: iterations)
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientKey = scram.hmac(key: salted, Array("Client Key".utf8))
        let signature = scram.hmac(key: scram.hash(clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = scram.hmac(key: salted, Array("Server Key".utf8))
        state = .scramSentFinal(serverSignature: scram.hmac(key: serverKey, authMessage))
        return .respond(Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8))
    }

    /// A saslname (RFC 5802 §5.1): `,` as `=2C`, `=` as `=3D`.
    static func encodeSaslName(_ name: String) -> String {
        name.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
    }
}
