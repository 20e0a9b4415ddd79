import FjordSecurity
import Foundation

/// One `--add-scram` value of `fjord storage format`, as kafka-storage.sh reads it (KIP-900):
///
///     SCRAM-SHA-256=[name=alice,password=alice-secret]
///     SCRAM-SHA-512=[name=alice,iterations=8192,salt="N3E=",saltedpassword="YCE="]
///
/// `name` and either `password` or `saltedpassword` are required; `salt` (base64) is random when a password is
/// given; `iterations` defaults to 4096 and must lie in SCRAM's 4096...16384. Values may be double-quoted.
struct StorageScramArgument {
    var user: String
    var credential: ScramCredential

    init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "="), text.hasSuffix("]"),
            text[text.index(after: equals)...].hasPrefix("[")
        else {
            throw CLIError(
                "--add-scram '\(text)' is not of the form MECHANISM=[name=...,password=...]",
                hint: "e.g. --add-scram 'SCRAM-SHA-256=[name=alice,password=alice-secret]'")
        }
        let mechanismName = String(text[..<equals]).uppercased()
        guard let mechanism = SaslMechanism(rawValue: mechanismName)?.scram else {
            throw CLIError("--add-scram: unknown SCRAM mechanism \(mechanismName) (SCRAM-SHA-256 or SCRAM-SHA-512)")
        }
        let body = text[text.index(equals, offsetBy: 2)..<text.index(before: text.endIndex)]
        var fields: [String: String] = [:]
        for pair in body.split(separator: ",") {
            guard let separator = pair.firstIndex(of: "=") else {
                throw CLIError("--add-scram: '\(pair)' is not key=value")
            }
            var value = String(pair[pair.index(after: separator)...])
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            fields[pair[..<separator].lowercased()] = value
        }
        let known: Set<String> = ["name", "password", "salt", "saltedpassword", "iterations"]
        if let unknown = fields.keys.first(where: { !known.contains($0) }) {
            throw CLIError("--add-scram: unknown key '\(unknown)' (name, password, salt, saltedpassword, iterations)")
        }
        guard let user = fields["name"], !user.isEmpty else { throw CLIError("--add-scram: name= is required") }
        let iterations =
            try fields["iterations"].map { text in
                guard let value = Int32(text) else {
                    throw CLIError("--add-scram: iterations '\(text)' is not a number")
                }
                return value
            } ?? ScramMechanism.minimumIterations
        guard (ScramMechanism.minimumIterations...ScramMechanism.maximumIterations).contains(iterations) else {
            throw CLIError(
                "--add-scram: iterations must be \(ScramMechanism.minimumIterations) to "
                    + "\(ScramMechanism.maximumIterations), not \(iterations)")
        }
        func base64(_ key: String) throws -> [UInt8]? {
            guard let text = fields[key] else { return nil }
            guard let data = Data(base64Encoded: text), !data.isEmpty else {
                throw CLIError("--add-scram: \(key) is not base64")
            }
            return Array(data)
        }
        let salt = try base64("salt")
        switch (fields["password"], try base64("saltedpassword")) {
        case (let password?, nil):
            let salt = salt ?? (0..<32).map { _ in UInt8.random(in: 0...255) }
            credential = ScramCredential(mechanism: mechanism, password: password, salt: salt, iterations: iterations)
        case (nil, let salted?):
            guard let salt else { throw CLIError("--add-scram: saltedpassword needs salt") }
            credential = ScramCredential(
                mechanism: mechanism, saltedPassword: salted, salt: salt, iterations: iterations)
        default:
            throw CLIError("--add-scram: give password= or saltedpassword= (with salt=), not both")
        }
        self.user = user
    }
}
