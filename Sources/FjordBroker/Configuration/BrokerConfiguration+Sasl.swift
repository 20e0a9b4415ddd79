import FjordSecurity

/// SASL on the broker's listeners, with Kafka's keys:
///
///     listeners=SASL_PLAINTEXT://127.0.0.1:9092
///     sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256                       (Kafka's default is GSSAPI: set it)
///     listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN        (per listener, wins over the above)
///     listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
///         required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
///     connections.max.reauth.ms=0                                       (KIP-368; 0: sessions never expire)
///     connection.failed.authentication.delay.ms=100
///
/// PLAIN's users are the `user_<name>` options of the listener's PLAIN JAAS configuration (required when PLAIN is
/// enabled, as Kafka requires it); SCRAM's users are the SCRAM credentials of the metadata log; OAUTHBEARER takes
/// unsecured JWTs (Kafka's default validator, for development), configured by the `unsecuredValidator*` options of
/// `listener.name.<l>.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule
/// required;`. A JAAS value is a
/// password: it is never shown by DescribeConfigs nor logged.
extension BrokerConfiguration {
    /// What one SASL listener offers.
    public struct SaslListenerConfiguration: Sendable, Equatable {
        public var mechanisms: [SaslMechanism]
        public var plainUsers: [String: String]
        /// The options of the listener's OAUTHBEARER JAAS configuration, when OAUTHBEARER is enabled: the unsecured
        /// JWT validator's settings (`UnsecuredJwtValidator`).
        public var oauthBearerOptions: [String: String]?
    }

    /// Keys of the form `listener.name.<listener>.<setting>`; true when `key` is one (stored), false when it is not
    /// such a key at all.
    mutating func applyListenerPrefixed(key: String, value: String) throws(ConfigurationError) -> Bool {
        let prefix = "listener.name."
        guard key.lowercased().hasPrefix(prefix) else { return false }
        let rest = key.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), dot != rest.startIndex else {
            throw ConfigurationError(key: key, "expected listener.name.<listener name>.<setting>")
        }
        let listener = rest[..<dot].uppercased()
        let setting = rest[rest.index(after: dot)...].lowercased()
        if setting.hasPrefix("ssl."), let kind = Self.tlsKeys[setting] {
            try kind.validate(value, key: key)
            listenerSslProperties[listener, default: [:]][setting] = value
        } else if setting == "sasl.enabled.mechanisms" {
            listenerSaslMechanisms[listener] = Self.list(value)
        } else if setting.hasSuffix(".sasl.jaas.config") {
            let mechanism = String(setting.dropLast(".sasl.jaas.config".count)).uppercased()
            do {
                listenerJaasConfigs[listener, default: [:]][mechanism] = try JaasConfiguration(parsing: value)
            } catch {
                throw ConfigurationError(key: key, error.message)
            }
        } else {
            throw ConfigurationError(
                key: key,
                "unknown per-listener property; Fjord reads listener.name.<listener>.sasl.enabled.mechanisms, "
                    + "listener.name.<listener>.<mechanism>.sasl.jaas.config and listener.name.<listener>.ssl.*")
        }
        return true
    }

    static func list(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    /// Each SASL_PLAINTEXT and SASL_SSL listener's mechanisms and PLAIN users, by listener name; an error names the key to change
    /// when a mechanism is not one Fjord offers or PLAIN has no JAAS configuration.
    public func saslListenerConfigurations() throws(ConfigurationError) -> [String: SaslListenerConfiguration] {
        var result = [String: SaslListenerConfiguration]()
        for listener in listeners
        where [.saslPlaintext, .saslSSL].contains(effectiveSecurityProtocolMap[listener.name]) {
            let perListenerKey = "listener.name.\(listener.name.lowercased()).sasl.enabled.mechanisms"
            let (names, key) =
                listenerSaslMechanisms[listener.name].map { ($0, perListenerKey) }
                ?? (saslEnabledMechanisms, "sasl.enabled.mechanisms")
            var mechanisms = [SaslMechanism]()
            for name in names {
                guard let mechanism = SaslMechanism(rawValue: name.uppercased()) else {
                    throw ConfigurationError(
                        key: key,
                        "listener \(listener.name): SASL mechanism \(name) is not supported (Fjord offers "
                            + "\(SaslMechanism.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                if !mechanisms.contains(mechanism) { mechanisms.append(mechanism) }
            }
            guard !mechanisms.isEmpty else {
                throw ConfigurationError(key: key, "listener \(listener.name) enables no SASL mechanism")
            }
            var plainUsers = [String: String]()
            if mechanisms.contains(.plain) {
                let jaasKey = "listener.name.\(listener.name.lowercased()).plain.sasl.jaas.config"
                guard let jaas = listenerJaasConfigs[listener.name]?["PLAIN"] else {
                    throw ConfigurationError(
                        key: jaasKey,
                        "listener \(listener.name) enables PLAIN but has no JAAS configuration: set \(jaasKey)="
                            + "\(JaasConfiguration.plainLoginModule) required user_<name>=\"<password>\" ...;")
                }
                guard jaas.loginModule == JaasConfiguration.plainLoginModule else {
                    throw ConfigurationError(
                        key: jaasKey, "PLAIN needs \(JaasConfiguration.plainLoginModule), not \(jaas.loginModule)")
                }
                plainUsers = jaas.plainUsers
            }
            var oauthBearerOptions: [String: String]?
            if mechanisms.contains(.oauthBearer) {
                let jaasKey = "listener.name.\(listener.name.lowercased()).oauthbearer.sasl.jaas.config"
                guard let jaas = listenerJaasConfigs[listener.name]?["OAUTHBEARER"],
                    jaas.loginModule == JaasConfiguration.oauthBearerLoginModule
                else {
                    throw ConfigurationError(
                        key: jaasKey,
                        "listener \(listener.name) enables OAUTHBEARER: set \(jaasKey)="
                            + "\(JaasConfiguration.oauthBearerLoginModule) required;")
                }
                do {
                    _ = try UnsecuredJwtValidator(options: jaas.options, now: { 0 })
                } catch {
                    throw ConfigurationError(key: jaasKey, error.message)
                }
                oauthBearerOptions = jaas.options
            }
            result[listener.name] = SaslListenerConfiguration(
                mechanisms: mechanisms, plainUsers: plainUsers, oauthBearerOptions: oauthBearerOptions)
        }
        return result
    }
}
