import FjordClient
import FjordSecurity
import FjordTestSupport
import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// FjordClient on a SASL_PLAINTEXT listener of Fjord: PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER logins, a refused
/// password, and connections renewed before the broker's session lifetime ends (KIP-368).
@Suite(.serialized)
struct SaslIntegrationTests {
    static let overrides = [
        "listeners": "SASL_PLAINTEXT://127.0.0.1:{port}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config":
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"admin-secret\";",
        "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config":
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        "connections.max.reauth.ms": "2000",
    ]

    func configuration(_ broker: TestBroker, _ sasl: SaslAuthentication) -> ClientConfiguration {
        var configuration = broker.clientConfiguration()
        configuration.sasl = sasl
        return configuration
    }

    /// An unsecured JWT (alg none) for `subject`, valid for an hour.
    static func unsecuredToken(subject: String) -> String {
        func encode(_ text: String) -> String {
            Array(text.utf8).base64URL
        }
        let exp = Int64(Date.now.timeIntervalSince1970) + 3600
        return "\(encode(#"{"alg":"none"}"#)).\(encode(#"{"sub":"\#(subject)","exp":\#(exp)}"#))."
    }

    @Test func everyMechanismLogsInAndAWrongPasswordIsRefused() async throws {
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(
                configuration: configuration(broker, .password(.plain, user: "admin", password: "admin-secret")))
            try await ClientIntegrationTests.createTopic(admin, "sasl-client", partitions: 1)
            // SCRAM credentials, salted here as a client salts them; the broker keeps only the derived keys.
            for mechanism in ScramMechanism.allCases {
                let salt: [UInt8] = Array("salt-\(mechanism)".utf8)
                let salted = mechanism.saltedPassword(Array("frank-secret".utf8), salt: salt, iterations: 4096)
                let response = try await admin.client.send(
                    AlterUserScramCredentialsRequest(upsertions: [
                        .init(
                            name: "frank", mechanism: mechanism.rawValue, iterations: 4096,
                            salt: ByteBuffer(bytes: salt),
                            saltedPassword: ByteBuffer(bytes: salted))
                    ]))
                #expect(response.results.map(\.errorCode) == [0])
            }
            let logins: [SaslAuthentication] = [
                .password(.plain, user: "admin", password: "admin-secret"),
                .password(.scramSHA256, user: "frank", password: "frank-secret"),
                .password(.scramSHA512, user: "frank", password: "frank-secret"),
                .oauthBearer(token: Self.unsecuredToken(subject: "grace")),
            ]
            for (index, login) in logins.enumerated() {
                let producer = ClientIntegrationTests.makeProducer(broker) { $0.client.sasl = login }
                let metadata = try await ClientIntegrationTests.withProducer(producer) {
                    try await $0.send(topic: "sasl-client", value: ByteBuffer(string: login.mechanism.rawValue))
                }
                #expect(metadata.offset == Int64(index))
            }
            let wrong = KafkaClient(
                configuration: configuration(broker, .password(.scramSHA256, user: "frank", password: "wrong")))
            do {
                _ = try await wrong.send(MetadataRequest(topics: []))
                Issue.record("a wrong password was accepted")
            } catch let error as ClientError {
                #expect(error.code == .authentication || error.code == .connection, "\(error)")
                #expect("\(error)".contains("invalid credentials with SASL mechanism SCRAM-SHA-256"), "\(error)")
            }
            await wrong.close()
        }
    }

    /// connections.max.reauth.ms=2000: the client replaces each connection before its session ends, so a producer
    /// sending for 5 s never meets a connection the broker closes for an expired session.
    @Test func connectionsAreRenewedBeforeTheSessionEnds() async throws {
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let login = SaslAuthentication.password(.plain, user: "admin", password: "admin-secret")
            let admin = Admin(configuration: configuration(broker, login))
            try await ClientIntegrationTests.createTopic(admin, "sasl-renew", partitions: 1)
            let producer = ClientIntegrationTests.makeProducer(broker) { $0.client.sasl = login }
            let sent = try await ClientIntegrationTests.withProducer(producer) { producer in
                var offsets: [Int64] = []
                let end = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < end {
                    offsets.append(try await producer.send(topic: "sasl-renew", value: ByteBuffer(string: "r")).offset)
                    try await Task.sleep(for: .milliseconds(100))
                }
                return offsets
            }
            #expect(sent == Array(0..<Int64(sent.count)))
            #expect(!broker.logText().contains("SASL session expired"))
        }
    }
}

extension Array where Element == UInt8 {
    /// Base64url without padding, as JWTs are written.
    var base64URL: String {
        Data(self).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
