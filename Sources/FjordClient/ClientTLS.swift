import NIOSSL

/// A client's TLS settings (`ClientConfiguration.tls`): which authorities to trust for the brokers' certificates,
/// and the client's own certificate for mutual TLS. Kafka: `security.protocol=SSL` (or SASL_SSL with
/// `ClientConfiguration.sasl`), `ssl.truststore.*`, `ssl.keystore.*`, `ssl.endpoint.identification.algorithm`.
public struct ClientTLS: Sendable {
    let context: NIOSSLContext
    /// Whether a broker's certificate must name the host connected to (Kafka's default `https`), not only chain to
    /// a trusted authority.
    public let verifiesHostname: Bool

    /// - Parameters:
    ///   - trustRootsPEMFile: the authorities' certificates (PEM); nil: the system's.
    ///   - certificateChainPEMFile, privateKeyPEMFile: this client's certificate and key, for mutual TLS (one PEM
    ///     file may hold both).
    ///   - privateKeyPassword: when the key is encrypted.
    public init(
        trustRootsPEMFile: String? = nil, certificateChainPEMFile: String? = nil, privateKeyPEMFile: String? = nil,
        privateKeyPassword: String? = nil, verifiesHostname: Bool = true
    ) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustRootsPEMFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustRootsPEMFile))
        }
        if let certificateChainPEMFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateChainPEMFile).map {
                .certificate($0)
            }
            let keyFile = privateKeyPEMFile ?? certificateChainPEMFile
            let key =
                try privateKeyPassword.map { password in
                    try NIOSSLPrivateKey(file: keyFile, format: .pem) { setter in setter(Array(password.utf8)) }
                } ?? NIOSSLPrivateKey(file: keyFile, format: .pem)
            configuration.privateKey = .privateKey(key)
        }
        configuration.certificateVerification = verifiesHostname ? .fullVerification : .noHostnameVerification
        context = try NIOSSLContext(configuration: configuration)
        self.verifiesHostname = verifiesHostname
    }
}
