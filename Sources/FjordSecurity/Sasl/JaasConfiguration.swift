/// One login module of a `sasl.jaas.config` value, read as Kafka reads it (`JaasConfig`): a class name, a control
/// flag, `key=value` options (values quoted with `"` or bare words), and a closing `;`. Kafka's broker takes exactly
/// one login module per property; so does this.
///
///     org.apache.kafka.common.security.plain.PlainLoginModule required
///         username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
public struct JaasConfiguration: Sendable, Equatable {
    public var loginModule: String
    public var controlFlag: String
    public var options: [String: String]

    public static let plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
    public static let scramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
    public static let oauthBearerLoginModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"

    /// The users of a PlainLoginModule: each `user_<name>="<password>"` option.
    public var plainUsers: [String: String] {
        var users = [String: String]()
        for (key, value) in options where key.hasPrefix("user_") && key.count > 5 {
            users[String(key.dropFirst(5))] = value
        }
        return users
    }

    /// Parses the value; the error says what is wrong and where.
    public init(parsing text: String) throws(JaasConfigurationError) {
        var tokens = try Self.tokens(text)
        guard tokens.last == .semicolon else {
            throw JaasConfigurationError("sasl.jaas.config must end with ';'")
        }
        tokens.removeLast()
        guard !tokens.contains(.semicolon) else {
            throw JaasConfigurationError("sasl.jaas.config must contain exactly one login module")
        }
        guard tokens.count >= 2, case .word(let module) = tokens[0], case .word(let flag) = tokens[1] else {
            throw JaasConfigurationError("sasl.jaas.config must start with a login module class and a control flag")
        }
        guard ["required", "requisite", "sufficient", "optional"].contains(flag.lowercased()) else {
            throw JaasConfigurationError("Invalid control flag '\(flag)' in sasl.jaas.config")
        }
        var options = [String: String]()
        var rest = tokens.dropFirst(2)
        while !rest.isEmpty {
            guard rest.count >= 3, case .word(let key) = rest[rest.startIndex],
                rest[rest.startIndex + 1] == .equals
            else {
                throw JaasConfigurationError("sasl.jaas.config options must be key=value pairs")
            }
            switch rest[rest.startIndex + 2] {
            case .word(let value), .quoted(let value): options[key] = value
            default: throw JaasConfigurationError("sasl.jaas.config option '\(key)' has no value")
            }
            rest = rest.dropFirst(3)
        }
        self.loginModule = module
        self.controlFlag = flag.lowercased()
        self.options = options
    }

    private enum Token: Equatable {
        case word(String)
        case quoted(String)
        case equals
        case semicolon
    }

    private static func tokens(_ text: String) throws(JaasConfigurationError) -> [Token] {
        var tokens = [Token]()
        var characters = Substring(text)
        while let character = characters.first {
            switch character {
            case " ", "\t", "\n", "\r":
                characters = characters.dropFirst()
            case "=":
                tokens.append(.equals)
                characters = characters.dropFirst()
            case ";":
                tokens.append(.semicolon)
                characters = characters.dropFirst()
            case "\"":
                var value = ""
                var rest = characters.dropFirst()
                var closed = false
                while let next = rest.first {
                    rest = rest.dropFirst()
                    if next == "\\", let escaped = rest.first {
                        value.append(escaped)
                        rest = rest.dropFirst()
                    } else if next == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(next)
                    }
                }
                guard closed else { throw JaasConfigurationError("sasl.jaas.config has an unclosed quote") }
                tokens.append(.quoted(value))
                characters = rest
            default:
                let word = characters.prefix { !" \t\n\r=;\"".contains($0) }
                tokens.append(.word(String(word)))
                characters = characters.dropFirst(word.count)
            }
        }
        return tokens
    }
}

/// A `sasl.jaas.config` value that cannot be read.
public struct JaasConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
