import ArgumentParser
import FjordClient
import FjordSecurity

/// `fjord user scram set | delete | describe`: SCRAM credentials, as Kafka's `kafka-configs.sh --entity-type users
/// --alter --add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret]'` manages them. The password is
/// salted by the command; the broker stores only the derived keys.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage users' SCRAM credentials.",
        subcommands: [UserScramCommand.self]
    )
}

struct UserScramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scram",
        abstract: "Set, delete and describe SCRAM-SHA-256 / SCRAM-SHA-512 credentials.",
        subcommands: [UserScramSet.self, UserScramDelete.self, UserScramDescribe.self]
    )
}

func parseScramMechanism(_ text: String) throws -> ScramMechanism {
    guard let mechanism = SaslMechanism(rawValue: text.uppercased())?.scram else {
        throw ValidationError("--mechanism: '\(text)' is not SCRAM-SHA-256 or SCRAM-SHA-512")
    }
    return mechanism
}

struct UserScramSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set a user's credential for one or both SCRAM mechanisms.",
        discussion: """
            The password is read from --password, else from the first line of standard input.

            Examples:
              fjord user scram set alice --mechanism SCRAM-SHA-256 --password alice-secret
              echo alice-secret | fjord user scram set alice --mechanism SCRAM-SHA-512 --iterations 8192
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The user name.") var user: String
    @Option(name: .customLong("mechanism"), help: "SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default both).")
    var mechanisms: [String] = []
    @Option(name: .long, help: "The password (default: read from standard input).") var password: String?
    @Option(name: .long, help: "PBKDF2 iterations, 4096 to 16384.") var iterations: Int32 = 4096

    func validate() throws {
        for mechanism in mechanisms { _ = try parseScramMechanism(mechanism) }
        guard (ScramMechanism.minimumIterations...ScramMechanism.maximumIterations).contains(iterations) else {
            throw ValidationError("--iterations must be 4096 to 16384")
        }
    }

    func run() async throws {
        guard let password = password ?? readLine(strippingNewline: true), !password.isEmpty else {
            throw CLIError("no password: pass --password or write it to standard input")
        }
        let chosen = try mechanisms.isEmpty ? ScramMechanism.allCases : mechanisms.map(parseScramMechanism)
        let results = try await connection.withAdmin { admin in
            try await admin.alterUserScramCredentials(
                upsertions: chosen.map {
                    Admin.ScramCredentialUpsertion(
                        user: user, mechanism: $0, password: password, iterations: iterations)
                })
        }
        if case .failure(let error)? = results[user] {
            throw CLIError("cannot set the credential of '\(user)': \(CLIError.describe(error))")
        }
        print("Set \(chosen.map(\.description).joined(separator: ", ")) for user '\(user)'")
    }
}

struct UserScramDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a user's credential for one or both SCRAM mechanisms.",
        discussion: "Example:\n  fjord user scram delete alice --mechanism SCRAM-SHA-256"
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The user name.") var user: String
    @Option(name: .customLong("mechanism"), help: "SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default both).")
    var mechanisms: [String] = []

    func run() async throws {
        let chosen = try mechanisms.isEmpty ? ScramMechanism.allCases : mechanisms.map(parseScramMechanism)
        let results = try await connection.withAdmin { admin in
            try await admin.alterUserScramCredentials(upsertions: [], deletions: chosen.map { (user, $0) })
        }
        if case .failure(let error)? = results[user] {
            throw CLIError("cannot delete the credential of '\(user)': \(CLIError.describe(error))")
        }
        print("Deleted \(chosen.map(\.description).joined(separator: ", ")) for user '\(user)'")
    }
}

struct UserScramDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show users' SCRAM mechanisms and iteration counts (never the keys).",
        discussion: """
            JSON: {"users":[{"user":"alice","credentials":[{"mechanism":"SCRAM-SHA-256","iterations":4096}]}]}

            Examples:
              fjord user scram describe
              fjord user scram describe alice
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: "User names (default: every user with a credential).") var users: [String] = []

    func run() async throws {
        let results = try await connection.withAdmin {
            try await $0.describeUserScramCredentials(users.isEmpty ? nil : users)
        }
        var rows: [(user: String, credentials: [(mechanism: ScramMechanism, iterations: Int32)])] = []
        for user in results.keys.sorted() {
            switch results[user]! {
            case .success(let credentials): rows.append((user, credentials))
            case .failure(let error):
                if error.kafkaError == .resourceNotFound {
                    throw CLIError(
                        "user '\(user)' has no SCRAM credential", hint: "set one with `fjord user scram set`")
                }
                throw CLIError("user '\(user)': \(CLIError.describe(error))")
            }
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "users",
                        .array(
                            rows.map { row in
                                .object([
                                    ("user", .string(row.user)),
                                    (
                                        "credentials",
                                        .array(
                                            row.credentials.map {
                                                .object([
                                                    ("mechanism", .string($0.mechanism.description)),
                                                    ("iterations", .int($0.iterations)),
                                                ])
                                            })
                                    ),
                                ])
                            })
                    )
                ]))
        case .text:
            Output.table(
                ["USER", "MECHANISM", "ITERATIONS"],
                rows.flatMap { row in row.credentials.map { [row.user, $0.mechanism.description, "\($0.iterations)"] } }
            )
        }
    }
}
