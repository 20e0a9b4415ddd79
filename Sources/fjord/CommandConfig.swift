import FjordBroker
import FjordClient
import FjordSecurity
import Foundation

/// `--command-config FILE`: the client properties Kafka's tools read from a file of that name — here the security
/// ones, so the command line reaches SSL, SASL_PLAINTEXT and SASL_SSL listeners (the TLS keys: `tls(_:source:)`):
///
///     security.protocol=SASL_PLAINTEXT
///     sasl.mechanism=SCRAM-SHA-256
///     sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
///         username="alice" password="alice-secret";
///
/// PLAIN and SCRAM take the username and password of their login module; OAUTHBEARER takes a bearer token from
/// `sasl.oauthbearer.token` (Fjord's key: Kafka's tools fetch tokens through a callback handler instead). Other
/// client keys are accepted and ignored.
struct CommandConfig {
    var sasl: SaslAuthentication?
    var tls: ClientTLS?

    init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIError("cannot read --command-config \(path)")
        }
        let entries: [(key: String, value: String)]
        do {
            entries = try PropertiesFile.parse(text)
        } catch {
            throw CLIError("--command-config \(path): \(error)")
        }
        var properties: [String: String] = [:]
        for (key, value) in entries { properties[key] = value }
        try self.init(properties: properties, source: path)
    }

    init(properties: [String: String], source: String) throws {
        let securityProtocol = (properties["security.protocol"] ?? "PLAINTEXT").uppercased()
        guard ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].contains(securityProtocol) else {
            throw CLIError(
                "\(source): security.protocol \(securityProtocol) is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        }
        if securityProtocol.hasSuffix("SSL") { tls = try Self.tls(properties, source: source) }
        switch securityProtocol {
        case "PLAINTEXT", "SSL":
            sasl = nil
        default:
            let name = (properties["sasl.mechanism"] ?? "GSSAPI").uppercased()
            guard let mechanism = SaslMechanism(rawValue: name) else {
                throw CLIError(
                    "\(source): sasl.mechanism \(name) is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, "
                        + "OAUTHBEARER)")
            }
            if mechanism == .oauthBearer {
                guard let token = properties["sasl.oauthbearer.token"], !token.isEmpty else {
                    throw CLIError("\(source): OAUTHBEARER needs sasl.oauthbearer.token=<JWT>")
                }
                sasl = .oauthBearer(token: token)
                return
            }
            guard let text = properties["sasl.jaas.config"] else {
                throw CLIError("\(source): \(name) needs sasl.jaas.config with username and password")
            }
            let jaas: JaasConfiguration
            do {
                jaas = try JaasConfiguration(parsing: text)
            } catch {
                throw CLIError("\(source): sasl.jaas.config: \(error)")
            }
            guard let user = jaas.options["username"], let password = jaas.options["password"] else {
                throw CLIError("\(source): sasl.jaas.config needs username=\"...\" and password=\"...\"")
            }
            sasl = .password(mechanism, user: user, password: password)
        }
    }

    /// `ssl.truststore.location` (PEM), `ssl.keystore.location` (PEM certificate and key, for mutual TLS),
    /// `ssl.key.password`, and `ssl.endpoint.identification.algorithm` (empty: no host name check).
    private static func tls(_ properties: [String: String], source: String) throws -> ClientTLS {
        for key in ["ssl.truststore.type", "ssl.keystore.type"] {
            if let type = properties[key], type.uppercased() != "PEM" {
                throw CLIError("\(source): \(key)=\(type): the command line reads PEM stores only")
            }
        }
        do {
            return try ClientTLS(
                trustRootsPEMFile: properties["ssl.truststore.location"],
                certificateChainPEMFile: properties["ssl.keystore.location"],
                privateKeyPassword: properties["ssl.key.password"],
                verifiesHostname: (properties["ssl.endpoint.identification.algorithm"] ?? "https") != "")
        } catch {
            throw CLIError("\(source): cannot read the TLS stores: \(error)")
        }
    }
}
