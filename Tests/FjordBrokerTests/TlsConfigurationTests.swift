import Testing

@testable import FjordBroker

/// TLS listeners configured with Kafka's keys, principal mapping rules, and refusals that name the key to change.
@Suite struct TlsConfigurationTests {
    @Test func aTlsListenerTakesPerListenerKeysOverBrokerWideOnes() throws {
        let configuration = try BrokerConfiguration(properties: [
            ("listeners", "SSL://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094"),
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.location", "/etc/fjord/broker.pem"),
            ("listener.name.ssl.ssl.client.auth", "required"), ("ssl.truststore.location", "/etc/fjord/ca.pem"),
            ("ssl.enabled.protocols", "TLSv1.3"), ("sasl.enabled.mechanisms", "SCRAM-SHA-256"),
        ])
        let tls = try configuration.tlsListenerConfigurations()
        #expect(Set(tls.keys) == ["SSL", "SASL_SSL"])
        #expect(tls["SSL"]?.clientAuthentication == .required)
        #expect(tls["SASL_SSL"]?.clientAuthentication == BrokerConfiguration.ClientAuthentication.none)
        #expect(tls["SSL"]?.keystoreLocation == "/etc/fjord/broker.pem")
        #expect(tls["SSL"]?.enabledProtocols == ["TLSv1.3"])
        #expect(try configuration.saslListenerConfigurations().keys.sorted() == ["SASL_SSL"])
    }

    @Test(arguments: [
        ([("listeners", "SSL://127.0.0.1:9093")], "ssl.keystore.location", "has no key store"),
        (
            [("listeners", "SSL://127.0.0.1:9093"), ("ssl.keystore.type", "JKS"), ("ssl.keystore.location", "/k")],
            "ssl.keystore.type", "PEM stores only"
        ),
        (
            [
                ("listeners", "SSL://127.0.0.1:9093"), ("ssl.keystore.location", "/k"),
                ("listener.name.ssl.ssl.client.auth", "required"),
            ],
            "ssl.truststore.location", "needs a trust store"
        ),
        (
            [("listeners", "SSL://127.0.0.1:9093"), ("ssl.keystore.location", "/k"), ("ssl.client.auth", "maybe")],
            "ssl.client.auth", "not none, requested or required"
        ),
        (
            [
                ("listeners", "SSL://127.0.0.1:9093"), ("ssl.keystore.location", "/k"),
                ("ssl.enabled.protocols", "TLSv1.1"),
            ],
            "ssl.enabled.protocols", "TLSv1.2 and TLSv1.3 only"
        ),
        (
            [
                ("listeners", "SSL://127.0.0.1:9093"), ("ssl.keystore.location", "/k"),
                ("ssl.principal.mapping.rules", "RULE:^CN=(.*$/$1/"),
            ],
            "ssl.principal.mapping.rules", "not a valid pattern"
        ),
    ])
    func aBadTlsSetupNamesTheKeyToChange(properties: [(String, String)], key: String, message: String) {
        do {
            _ = try BrokerConfiguration(properties: properties.map { (key: $0.0, value: $0.1) })
            Issue.record("accepted \(properties)")
        } catch {
            #expect(error.key == key)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func principalMappingRulesAreKafkas() throws {
        let mapper = try SslPrincipalMapper(
            rules: "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/, RULE:^CN=([^,]*),O=(.*)$/$1@$2/L,DEFAULT")
        #expect(mapper.name(for: "CN=svc,OU=ServiceUsers,O=Fjord") == "svc")
        #expect(mapper.name(for: "CN=Alice,O=Fjord") == "alice@fjord")
        #expect(mapper.name(for: "CN=bob") == "CN=bob")
        let strict = try SslPrincipalMapper(rules: "RULE:^CN=(.*)$/$1/U")
        #expect(strict.name(for: "CN=carol") == "CAROL")
        #expect(strict.name(for: "O=nobody") == nil)
        #expect(try SslPrincipalMapper(rules: "RULE:^CN=(.*?)\\/x$/$1/").name(for: "CN=a/x") == "a")
        #expect(throws: SslPrincipalMapper.Problem.self) { try SslPrincipalMapper(rules: "RULE:^CN") }
        #expect(throws: SslPrincipalMapper.Problem.self) { try SslPrincipalMapper(rules: "SOMETIMES") }
    }
}
