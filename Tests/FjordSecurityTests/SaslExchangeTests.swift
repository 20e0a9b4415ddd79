import Foundation
import Testing

@testable import FjordSecurity

/// The server side of PLAIN and SCRAM, against RFC 7677's worked example and a client written from RFC 5802.
@Suite struct SaslExchangeTests {
    // MARK: SCRAM

    /// RFC 7677 §3: user "user", password "pencil" — every byte the server sends is the RFC's.
    @Test func scramSHA256ReplaysTheExampleOfRFC7677() throws {
        let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
        let credential = ScramCredential(mechanism: .sha256, password: "pencil", salt: salt, iterations: 4096)
        var exchange = ScramServerExchange(mechanism: .sha256, serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0") {
            $0 == "user" ? credential : nil
        }
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        #expect(
            exchange.evaluate(Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8)) == .challenge(Array(serverFirst.utf8)))
        let clientFinal =
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        #expect(
            exchange.evaluate(Array(clientFinal.utf8))
                == .succeeded(user: "user", finalToken: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)))
    }

    /// A client computing its proof from the password, as RFC 5802 §3 says.
    struct Client {
        let mechanism: ScramMechanism
        let user: String
        let password: String
        let nonce = "fyko+d2lbbFgONRv9qkxdawL"

        var first: String { "n,,n=\(user),r=\(nonce)" }

        func final(serverFirst: String, password: String? = nil) -> String {
            let fields = Dictionary(
                uniqueKeysWithValues: serverFirst.split(separator: ",").map {
                    (String($0.prefix(1)), String($0.dropFirst(2)))
                })
            let salted = mechanism.saltedPassword(
                Array((password ?? self.password).utf8), salt: Array(Data(base64Encoded: fields["s"]!)!),
                iterations: Int32(fields["i"]!)!)
            let withoutProof = "c=biws,r=\(fields["r"]!)"
            let authMessage = Array("n=\(user),r=\(nonce),\(serverFirst),\(withoutProof)".utf8)
            let clientKey = mechanism.hmac(key: salted, Array("Client Key".utf8))
            let signature = mechanism.hmac(key: mechanism.hash(clientKey), authMessage)
            let proof = zip(clientKey, signature).map { $0 ^ $1 }
            return "\(withoutProof),p=\(Data(proof).base64EncodedString())"
        }
    }

    func exchange(_ mechanism: ScramMechanism, users: [String: ScramCredential]) -> ScramServerExchange {
        ScramServerExchange(mechanism: mechanism, serverNonce: "3rfcNHYJY1ZVvWVs7j") { users[$0] }
    }

    @Test(arguments: ScramMechanism.allCases)
    func aClientWithThePasswordAuthenticatesAndGetsTheServerSignature(mechanism: ScramMechanism) throws {
        let credential = ScramCredential(
            mechanism: mechanism, password: "alice-secret", salt: [1, 2, 3, 4], iterations: 4096)
        var server = exchange(mechanism, users: ["alice": credential])
        let client = Client(mechanism: mechanism, user: "alice", password: "alice-secret")
        guard case .challenge(let serverFirst) = server.evaluate(Array(client.first.utf8)) else {
            Issue.record("no server-first message")
            return
        }
        let serverFirstText = String(decoding: serverFirst, as: UTF8.self)
        #expect(serverFirstText.hasPrefix("r=\(client.nonce)3rfcNHYJY1ZVvWVs7j,s=AQIDBA==,i=4096"))
        guard
            case .succeeded(let user, let final, _) = server.evaluate(
                Array(client.final(serverFirst: serverFirstText).utf8))
        else {
            Issue.record("the right password was refused")
            return
        }
        #expect(user == "alice")
        // v = base64(HMAC(ServerKey, AuthMessage)): what the client checks to know the server holds its credential.
        let authMessage = Array(
            "n=alice,r=\(client.nonce),\(serverFirstText),c=biws,r=\(client.nonce)3rfcNHYJY1ZVvWVs7j".utf8)
        let expected = mechanism.hmac(key: credential.serverKey, authMessage)
        #expect(String(decoding: final, as: UTF8.self) == "v=\(Data(expected).base64EncodedString())")
    }

    @Test func aWrongPasswordAndAnUnknownUserFailWithTheSameWords() {
        let credential = ScramCredential(mechanism: .sha512, password: "right", salt: [9, 9], iterations: 4096)
        let client = Client(mechanism: .sha512, user: "alice", password: "right")
        var server = exchange(.sha512, users: ["alice": credential])
        guard case .challenge(let serverFirst) = server.evaluate(Array(client.first.utf8)) else {
            Issue.record("no server-first message")
            return
        }
        let wrong = client.final(serverFirst: String(decoding: serverFirst, as: UTF8.self), password: "wrong")
        let refusal = SaslStep.failed(
            SaslAuthenticationFailure(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
            ))
        #expect(server.evaluate(Array(wrong.utf8)) == refusal)
        var unknown = exchange(.sha512, users: ["alice": credential])
        #expect(unknown.evaluate(Array("n,,n=mallory,r=abc".utf8)) == refusal)
        // A credential of the other mechanism is not this one's.
        var otherMechanism = exchange(.sha256, users: ["alice": credential])
        guard case .failed = otherMechanism.evaluate(Array(client.first.utf8)) else {
            Issue.record("a SCRAM-SHA-512 credential served SCRAM-SHA-256")
            return
        }
    }

    @Test func malformedMessagesChannelBindingAndTokenAuthAreRefused() {
        let credential = ScramCredential(mechanism: .sha256, password: "p", salt: [1], iterations: 4096)
        for first in [
            "", "garbage", "p=tls-unique,,n=alice,r=abc", "y,,n=alice,r=abc", "n,,r=abc", "n,,n=alice",
            "n,,n=alice,r=abc,tokenauth=true", "n,a=bob,n=alice,r=abc", "n,,n=al=ice,r=abc",
        ] {
            var server = exchange(.sha256, users: ["alice": credential])
            guard case .failed = server.evaluate(Array(first.utf8)) else {
                Issue.record("accepted client-first '\(first)'")
                continue
            }
        }
        // The final message must repeat the whole nonce and the gs2 header.
        let client = Client(mechanism: .sha256, user: "alice", password: "p")
        var server = exchange(.sha256, users: ["alice": credential])
        _ = server.evaluate(Array(client.first.utf8))
        guard case .failed = server.evaluate(Array("c=biws,r=\(client.nonce),p=AAAA".utf8)) else {
            Issue.record("accepted a final message with the client's nonce only")
            return
        }
    }

    @Test func saslNamesDecodeCommasAndEquals() {
        #expect(ScramServerExchange.decodeSaslName("a=2Cb=3Dc") == "a,b=c")
        #expect(ScramServerExchange.decodeSaslName("plain") == "plain")
        #expect(ScramServerExchange.decodeSaslName("bad=2") == nil)
    }

    // MARK: PLAIN

    @Test func plainChecksTheUserPasswordAndAuthorizationID() {
        let users = ["admin": "admin-secret", "alice": "alice-secret"]
        func evaluate(_ message: String) -> SaslStep {
            var exchange = PlainServerExchange(passwords: users)
            return exchange.evaluate(Array(message.utf8))
        }
        #expect(evaluate("\0alice\0alice-secret") == .succeeded(user: "alice", finalToken: []))
        #expect(evaluate("alice\0alice\0alice-secret") == .succeeded(user: "alice", finalToken: []))
        #expect(
            evaluate("\0alice\0admin-secret")
                == .failed(SaslAuthenticationFailure("Authentication failed: Invalid username or password")))
        #expect(
            evaluate("\0mallory\0x")
                == .failed(SaslAuthenticationFailure("Authentication failed: Invalid username or password")))
        #expect(
            evaluate("admin\0alice\0alice-secret")
                == .failed(
                    SaslAuthenticationFailure(
                        "Authentication failed: Client requested an authorization id that is different from username")))
        #expect(
            evaluate("\0\0x") == .failed(SaslAuthenticationFailure("Authentication failed: username not specified")))
        #expect(
            evaluate("\0alice\0") == .failed(SaslAuthenticationFailure("Authentication failed: password not specified"))
        )
        guard case .failed = evaluate("alice-secret") else {
            Issue.record("accepted a message without separators")
            return
        }
    }

    // MARK: JAAS

    @Test func aPlainLoginModuleReadsAsKafkaReadsIt() throws {
        let config = try JaasConfiguration(
            parsing: """
                org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" \
                password="admin-secret" user_admin="admin-secret" user_alice="al\\"ice;";
                """)
        #expect(config.loginModule == JaasConfiguration.plainLoginModule)
        #expect(config.controlFlag == "required")
        #expect(config.options["username"] == "admin")
        #expect(config.plainUsers == ["admin": "admin-secret", "alice": "al\"ice;"])
        let bare = try JaasConfiguration(
            parsing: "org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED a=b ;")
        #expect(bare.options == ["a": "b"])
        for bad in [
            "", "Module required", "Module sometimes;", "Module required a=\"b;", "Module required a=;",
            "A required; B required;", "Module required a b;",
        ] {
            #expect(throws: JaasConfigurationError.self, "'\(bad)'") { try JaasConfiguration(parsing: bad) }
        }
    }
}

/// OAUTHBEARER with Kafka's unsecured JWT validator.
@Suite struct OAuthBearerExchangeTests {
    static let nowMs: Int64 = 1_800_000_000_000

    func jwt(_ claims: String, header: String = #"{"alg":"none"}"#) -> String {
        func encode(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
        return "\(encode(header)).\(encode(claims))."
    }

    func message(_ token: String, authzid: String = "") -> [UInt8] {
        Array("n,\(authzid.isEmpty ? "" : "a=\(authzid)"),\u{1}auth=Bearer \(token)\u{1}\u{1}".utf8)
    }

    func exchange(requiredScope: String = "") throws -> OAuthBearerServerExchange {
        let validator = try UnsecuredJwtValidator(
            options: ["unsecuredValidatorRequiredScope": requiredScope], now: { Self.nowMs })
        return OAuthBearerServerExchange(validator: validator)
    }

    @Test func aValidTokensSubjectIsThePrincipalAndItsExpiryTheLifetime() throws {
        var server = try exchange(requiredScope: "kafka")
        let exp = Self.nowMs / 1000 + 60
        let token = jwt(#"{"sub":"dana","exp":\#(exp),"iat":\#(Self.nowMs / 1000),"scope":"kafka other"}"#)
        #expect(server.evaluate(message(token)) == .succeeded(user: "dana", finalToken: [], lifetimeMs: 60_000))
        var withAuthzid = try exchange()
        #expect(
            withAuthzid.evaluate(message(token, authzid: "dana"))
                == .succeeded(user: "dana", finalToken: [], lifetimeMs: 60_000))
    }

    @Test func aRefusedTokenGetsTheErrorChallengeThenFails() throws {
        let exp = Self.nowMs / 1000 + 60
        let cases: [(String, String)] = [
            (jwt(#"{"sub":"dana","exp":\#(exp)}"#, header: #"{"alg":"HS256"}"#), "alg"),
            (jwt(#"{"exp":\#(exp)}"#), "no 'sub' claim"),
            (jwt(#"{"sub":"dana"}"#), "no 'exp' claim"),
            (jwt(#"{"sub":"dana","exp":\#(Self.nowMs / 1000 - 1)}"#), "expired"),
            (jwt(#"{"sub":"dana","exp":\#(exp),"iat":\#(exp)}"#), "in the future"),
            (jwt(#"{"sub":"dana","exp":\#(exp),"scope":"other"}"#), "scope lacks 'kafka'"),
            ("not-a-jwt", "not an unsecured JWT"),
        ]
        for (token, reason) in cases {
            var server = try exchange(requiredScope: "kafka")
            guard case .challenge(let challenge) = server.evaluate(message(token)) else {
                Issue.record("no error challenge for \(reason)")
                continue
            }
            #expect(String(decoding: challenge, as: UTF8.self).contains(#""status":"#))
            guard case .failed(let failure) = server.evaluate([1]) else {
                Issue.record("no failure after the challenge for \(reason)")
                continue
            }
            #expect(failure.message.contains(reason), "\(failure.message)")
        }
        var mismatched = try exchange()
        guard case .failed = mismatched.evaluate(message(jwt(#"{"sub":"dana","exp":\#(exp)}"#), authzid: "eve")) else {
            Issue.record("an authorization id other than the subject was accepted")
            return
        }
        var malformed = try exchange()
        guard case .failed = malformed.evaluate(Array("n,,auth=Bearer x".utf8)) else {
            Issue.record("a message without separators was accepted")
            return
        }
    }
}

/// The client side, against RFC 7677 and against the server side.
@Suite struct SaslClientExchangeTests {
    @Test func theScramClientReplaysRFC7677() {
        var client = SaslClientExchange(
            mechanism: .scramSHA256, credentials: .password(user: "user", password: "pencil"),
            clientNonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(client.start() == .respond(Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8)))
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let final =
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        #expect(client.evaluate(Array(serverFirst.utf8)) == .respond(Array(final.utf8)))
        #expect(client.evaluate(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)) == .done)
    }

    @Test func aServerWithoutTheCredentialIsCaughtByItsSignature() {
        var client = SaslClientExchange(
            mechanism: .scramSHA256, credentials: .password(user: "user", password: "pencil"),
            clientNonce: "rOprNGfwEbeRWgbNEkqO")
        _ = client.start()
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        _ = client.evaluate(Array(serverFirst.utf8))
        guard case .failed = client.evaluate(Array("v=AAAA".utf8)) else {
            Issue.record("a wrong server signature was accepted")
            return
        }
    }

    @Test(arguments: [SaslMechanism.plain, .scramSHA256, .scramSHA512])
    func clientAndServerAgree(mechanism: SaslMechanism) {
        let credential = mechanism.scram.map {
            ScramCredential(mechanism: $0, password: "p=w,d", salt: [5, 6, 7], iterations: 4096)
        }
        var server: any SaslServerExchange =
            mechanism == .plain
            ? PlainServerExchange(passwords: ["a,b=c": "p=w,d"])
            : ScramServerExchange(mechanism: mechanism.scram!, serverNonce: "xyz") { $0 == "a,b=c" ? credential : nil }
        var client = SaslClientExchange(mechanism: mechanism, credentials: .password(user: "a,b=c", password: "p=w,d"))
        var step = client.start()
        while case .respond(let token) = step {
            switch server.evaluate(token) {
            case .challenge(let challenge):
                step = client.evaluate(challenge)
            case .succeeded(let user, let final, _):
                #expect(user == "a,b=c")
                #expect(client.evaluate(final) == .done)
                return
            case .failed(let failure):
                Issue.record("refused: \(failure)")
                return
            }
        }
        Issue.record("the exchange ended without a verdict: \(step)")
    }
}
