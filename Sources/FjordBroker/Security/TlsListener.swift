import FjordSecurity
import Foundation
import NIOSSL
import X509

/// One TLS listener's server context (its certificate chain and key, the trust store for client certificates, the
/// protocols and cipher suites allowed) and how a client certificate becomes a principal.
struct TlsListener: Sendable {
    let context: NIOSSLContext
    let principalMapper: SslPrincipalMapper

    /// Kafka's names of the TLS 1.2 cipher suites (`ssl.cipher.suites`); TLS 1.3's are not configurable.
    static let cipherSuites: [String: NIOTLSCipher] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Reads the stores and builds the context; an error names the key whose file or value is at fault.
    init(_ tls: BrokerConfiguration.TlsListenerConfiguration, listener: String) throws(ConfigurationError) {
        func failure(_ key: String, _ what: String, _ error: any Error) -> ConfigurationError {
            ConfigurationError(key: key, "listener \(listener): cannot read \(what): \(error)")
        }
        let passphrase = tls.keyPassword
        var chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            if let location = tls.keystoreLocation {
                chain = try NIOSSLCertificate.fromPEMFile(location)
            } else {
                chain = try NIOSSLCertificate.fromPEMBytes(Array((tls.keystoreCertificateChain ?? "").utf8))
            }
        } catch {
            throw failure("ssl.keystore.location", "the key store's certificates", error)
        }
        guard !chain.isEmpty else {
            throw ConfigurationError(
                key: "ssl.keystore.location", "listener \(listener): the key store has no certificate")
        }
        do {
            let bytes: [UInt8]
            if let location = tls.keystoreLocation {
                bytes = Array(try Data(contentsOf: URL(fileURLWithPath: location)))
            } else {
                bytes = Array((tls.keystoreKey ?? "").utf8)
            }
            if let passphrase {
                key = try NIOSSLPrivateKey(bytes: bytes, format: .pem) { setter in setter(Array(passphrase.utf8)) }
            } else {
                key = try NIOSSLPrivateKey(bytes: bytes, format: .pem)
            }
        } catch {
            throw failure("ssl.keystore.location", "the key store's private key (ssl.key.password?)", error)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tls.enabledProtocols.contains("TLSv1.2") ? .tlsv12 : .tlsv13
        configuration.maximumTLSVersion = tls.enabledProtocols.contains("TLSv1.3") ? .tlsv13 : .tlsv12
        if !tls.cipherSuites.isEmpty {
            var suites: [NIOTLSCipher] = []
            for name in tls.cipherSuites {
                guard let suite = Self.cipherSuites[name] else {
                    throw ConfigurationError(
                        key: "ssl.cipher.suites",
                        "listener \(listener): unknown cipher suite \(name) (Fjord knows "
                            + "\(Self.cipherSuites.keys.sorted().joined(separator: ", ")))")
                }
                suites.append(suite)
            }
            configuration.cipherSuiteValues = suites
        }
        if tls.truststoreLocation != nil || tls.truststoreCertificates != nil {
            do {
                let roots =
                    try tls.truststoreLocation.map { try NIOSSLCertificate.fromPEMFile($0) }
                    ?? NIOSSLCertificate.fromPEMBytes(Array((tls.truststoreCertificates ?? "").utf8))
                configuration.trustRoots = .certificates(roots)
            } catch {
                throw failure("ssl.truststore.location", "the trust store", error)
            }
        }
        switch tls.clientAuthentication {
        case .none: configuration.certificateVerification = .none
        case .requested: configuration.certificateVerification = .optionalVerification
        case .required: configuration.certificateVerification = .noHostnameVerification
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigurationError(key: "ssl.keystore.location", "listener \(listener): TLS setup failed: \(error)")
        }
        do {
            principalMapper = try SslPrincipalMapper(rules: tls.principalMappingRules)
        } catch {
            throw ConfigurationError(key: "ssl.principal.mapping.rules", error.message)
        }
    }

    /// The principal of a connection whose client presented `certificate` (its subject, mapped by the rules):
    /// `User:ANONYMOUS` without a certificate, nil when no rule applies (the connection is refused).
    func principal(for certificate: NIOSSLCertificate?) -> KafkaPrincipal? {
        guard let certificate else { return .anonymous }
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else {
            return nil
        }
        return principalMapper.name(for: Self.distinguishedName(parsed.subject)).map(KafkaPrincipal.user)
    }

    /// A subject as Java's `X500Principal.getName()` writes it (RFC 2253): the most specific RDN first,
    /// `CN=alice,OU=eng,O=Fjord`.
    static func distinguishedName(_ name: DistinguishedName) -> String {
        name.reversed().map { rdn in
            rdn.map { attribute in "\(attribute)" }.joined(separator: "+")
        }.joined(separator: ",")
    }
}
