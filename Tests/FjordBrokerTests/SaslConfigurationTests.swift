import FjordSecurity
import Testing

@testable import FjordBroker

/// SASL listeners configured with Kafka's keys, and refused with the key to change.
@Suite struct SaslConfigurationTests {
    static let jaas =
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" "
        + "password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";"

    @Test func aSaslListenerTakesItsMechanismsAndPlainUsersFromKafkasKeys() throws {
        let configuration = try BrokerConfiguration(properties: [
            ("listeners", "SASL_PLAINTEXT://127.0.0.1:9092,PLAINTEXT://127.0.0.1:9093"),
            ("sasl.enabled.mechanisms", "SCRAM-SHA-512"),
            ("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "plain,SCRAM-SHA-256"),
            ("listener.name.SASL_PLAINTEXT.plain.sasl.jaas.config", Self.jaas),
            ("connections.max.reauth.ms", "60000"),
        ])
        let listeners = try configuration.saslListenerConfigurations()
        #expect(Array(listeners.keys) == ["SASL_PLAINTEXT"])
        #expect(listeners["SASL_PLAINTEXT"]?.mechanisms == [.plain, .scramSHA256])
        #expect(listeners["SASL_PLAINTEXT"]?.plainUsers == ["admin": "admin-secret", "alice": "alice-secret"])
        #expect(configuration.connectionsMaxReauthMs == 60000)
        #expect(configuration.connectionFailedAuthenticationDelayMs == 100)
    }

    @Test(arguments: [
        // Kafka's default mechanism, Kerberos, is not offered.
        ([("listeners", "SASL_PLAINTEXT://127.0.0.1:9092")], "sasl.enabled.mechanisms", "GSSAPI is not supported"),
        (
            [("listeners", "SASL_PLAINTEXT://127.0.0.1:9092"), ("sasl.enabled.mechanisms", "PLAIN")],
            "listener.name.sasl_plaintext.plain.sasl.jaas.config", "enables PLAIN but has no JAAS configuration"
        ),
        (
            [
                ("listeners", "SASL_PLAINTEXT://127.0.0.1:9092"), ("sasl.enabled.mechanisms", "PLAIN"),
                (
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                ),
            ],
            "listener.name.sasl_plaintext.plain.sasl.jaas.config", "PLAIN needs"
        ),
        (
            [("listener.name.sasl_plaintext.plain.sasl.jaas.config", "PlainLoginModule required user_a=\"b\"")],
            "listener.name.sasl_plaintext.plain.sasl.jaas.config", "must end with ';'"
        ),
        ([("listener.name.x.ssl.keystore.flavour", "/k")], "listener.name.x.ssl.keystore.flavour", "per-listener"),
        (
            [("listeners", "SASL_PLAINTEXT://127.0.0.1:9092"), ("sasl.enabled.mechanisms", "OAUTHBEARER")],
            "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config", "enables OAUTHBEARER"
        ),
        (
            [
                ("listeners", "SASL_PLAINTEXT://127.0.0.1:9092"), ("sasl.enabled.mechanisms", "OAUTHBEARER"),
                (
                    "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config",
                    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
                        + "unsecuredValidatorAllowableClockSkewMs=\"soon\";"
                ),
            ],
            "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config", "unsecuredValidatorAllowableClockSkewMs"
        ),
    ])
    func aBadSaslSetupNamesTheKeyToChange(properties: [(String, String)], key: String, message: String) {
        do {
            _ = try BrokerConfiguration(properties: properties.map { (key: $0.0, value: $0.1) })
            Issue.record("accepted \(properties)")
        } catch {
            #expect(error.key == key)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
