/// TLS on the broker's SSL and SASL_SSL listeners, with Kafka's keys (each also per listener as
/// `listener.name.<l>.ssl.*`, which wins):
///
///     listeners=SSL://127.0.0.1:9093
///     ssl.keystore.type=PEM
///     ssl.keystore.location=/etc/fjord/broker.pem          (the certificate chain and the private key, PEM)
///       or ssl.keystore.certificate.chain=-----BEGIN CERTIFICATE-----... and ssl.keystore.key=-----BEGIN ...
///     ssl.key.password=...                                 (when the private key is encrypted)
///     ssl.truststore.type=PEM
///     ssl.truststore.location=/etc/fjord/ca.pem            (or ssl.truststore.certificates=...)
///     ssl.client.auth=required                             (none, requested or required; default none)
///     ssl.enabled.protocols=TLSv1.2,TLSv1.3
///     ssl.cipher.suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,...   (TLS 1.2 suites by IANA name)
///     ssl.principal.mapping.rules=RULE:^CN=(.*?),.*$/$1/,DEFAULT
///
/// Only PEM key and trust stores are read (JKS and PKCS12 are refused, naming the key). A client certificate's
/// subject is the principal of an SSL connection (`User:CN=alice,O=Fjord`, or what the mapping rules make of it);
/// on SASL_SSL the SASL user is.
extension BrokerConfiguration {
    public enum ClientAuthentication: String, Sendable, Equatable {
        case none, requested, required
    }

    /// What one TLS listener serves with.
    public struct TlsListenerConfiguration: Sendable, Equatable {
        public var keystoreLocation: String?
        public var keystoreCertificateChain: String?
        public var keystoreKey: String?
        public var keyPassword: String?
        public var truststoreLocation: String?
        public var truststoreCertificates: String?
        public var clientAuthentication: ClientAuthentication
        /// `TLSv1.2`, `TLSv1.3`.
        public var enabledProtocols: [String]
        /// IANA names; empty: the TLS library's defaults.
        public var cipherSuites: [String]
        public var principalMappingRules: String
    }

    /// `ssl.*` keys Fjord reads, and the value kinds they must have.
    static let tlsKeys: [String: ValueKind] = [
        "ssl.keystore.type": .string, "ssl.keystore.location": .string, "ssl.keystore.password": .string,
        "ssl.keystore.certificate.chain": .string, "ssl.keystore.key": .string, "ssl.key.password": .string,
        "ssl.truststore.type": .string, "ssl.truststore.location": .string, "ssl.truststore.password": .string,
        "ssl.truststore.certificates": .string, "ssl.client.auth": .string, "ssl.enabled.protocols": .list,
        "ssl.protocol": .string, "ssl.cipher.suites": .list, "ssl.principal.mapping.rules": .string,
        "ssl.endpoint.identification.algorithm": .string,
    ]

    /// A TLS setting of `listener`: its `listener.name.<l>.ssl.*` value, else the broker-wide `ssl.*` one.
    func tlsSetting(_ key: String, listener: String) -> String? {
        listenerSslProperties[listener]?[key] ?? properties[key]
    }

    /// Each SSL and SASL_SSL listener's TLS settings, by listener name; an error names the key to change.
    public func tlsListenerConfigurations() throws(ConfigurationError) -> [String: TlsListenerConfiguration] {
        var result = [String: TlsListenerConfiguration]()
        for listener in listeners {
            let securityProtocol = effectiveSecurityProtocolMap[listener.name]
            guard securityProtocol == .ssl || securityProtocol == .saslSSL else { continue }
            let name = listener.name
            func key(_ setting: String) -> String {
                listenerSslProperties[name]?[setting] != nil ? "listener.name.\(name.lowercased()).\(setting)" : setting
            }
            for storeType in ["ssl.keystore.type", "ssl.truststore.type"] {
                if let type = tlsSetting(storeType, listener: name), type.uppercased() != "PEM" {
                    throw ConfigurationError(
                        key: key(storeType),
                        "listener \(name): Fjord reads PEM stores only, not \(type); convert it (openssl pkcs12 "
                            + "-in store.p12 -nodes > store.pem) and set \(storeType)=PEM")
                }
            }
            let tls = TlsListenerConfiguration(
                keystoreLocation: tlsSetting("ssl.keystore.location", listener: name),
                keystoreCertificateChain: tlsSetting("ssl.keystore.certificate.chain", listener: name),
                keystoreKey: tlsSetting("ssl.keystore.key", listener: name),
                keyPassword: tlsSetting("ssl.key.password", listener: name),
                truststoreLocation: tlsSetting("ssl.truststore.location", listener: name),
                truststoreCertificates: tlsSetting("ssl.truststore.certificates", listener: name),
                clientAuthentication: try clientAuthentication(listener: name, key: key("ssl.client.auth")),
                enabledProtocols: try enabledProtocols(listener: name, key: key("ssl.enabled.protocols")),
                cipherSuites: Self.list(tlsSetting("ssl.cipher.suites", listener: name) ?? ""),
                principalMappingRules: tlsSetting("ssl.principal.mapping.rules", listener: name) ?? "DEFAULT")
            guard tls.keystoreLocation != nil || (tls.keystoreCertificateChain != nil && tls.keystoreKey != nil) else {
                throw ConfigurationError(
                    key: key("ssl.keystore.location"),
                    "listener \(name) uses \(securityProtocol!.rawValue) but has no key store: set "
                        + "ssl.keystore.location (a PEM file with the certificate chain and the private key), or "
                        + "ssl.keystore.certificate.chain and ssl.keystore.key")
            }
            if tls.clientAuthentication != .none, tls.truststoreLocation == nil, tls.truststoreCertificates == nil {
                throw ConfigurationError(
                    key: key("ssl.truststore.location"),
                    "listener \(name): ssl.client.auth=\(tls.clientAuthentication.rawValue) needs a trust store "
                        + "(the CA certificates client certificates are checked against)")
            }
            do {
                _ = try SslPrincipalMapper(rules: tls.principalMappingRules)
            } catch {
                throw ConfigurationError(key: key("ssl.principal.mapping.rules"), error.message)
            }
            result[name] = tls
        }
        return result
    }

    private func clientAuthentication(listener: String, key: String) throws(ConfigurationError) -> ClientAuthentication
    {
        let text = tlsSetting("ssl.client.auth", listener: listener) ?? "none"
        guard let value = ClientAuthentication(rawValue: text.lowercased()) else {
            throw ConfigurationError(key: key, "'\(text)' is not none, requested or required")
        }
        return value
    }

    private func enabledProtocols(listener: String, key: String) throws(ConfigurationError) -> [String] {
        let protocols = Self.list(tlsSetting("ssl.enabled.protocols", listener: listener) ?? "TLSv1.2,TLSv1.3")
        for name in protocols where !["TLSv1.2", "TLSv1.3"].contains(name) {
            throw ConfigurationError(key: key, "'\(name)' is not offered: TLSv1.2 and TLSv1.3 only")
        }
        guard !protocols.isEmpty else { throw ConfigurationError(key: key, "enables no protocol") }
        return protocols
    }
}
