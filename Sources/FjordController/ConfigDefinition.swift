/// One configuration key that a topic (or the broker) accepts: its type, default, the broker key that supplies a
/// cluster-wide default (Kafka's "synonym"), and documentation for DescribeConfigs.
public struct ConfigDefinition: Sendable {
    /// What values look like; validation follows Kafka's `ConfigDef` types.
    public enum Kind: Sendable, Equatable {
        case int(ClosedRange<Int64>)
        case long(ClosedRange<Int64>)
        case double(ClosedRange<Double>)
        case boolean
        case string
        /// One of the listed values (case-insensitive where Kafka is).
        case choice([String])
        /// A comma-separated list, each item one of the listed values.
        case list([String])
        /// A Kafka release or metadata version as Kafka 3.x's `message.format.version` took it: `0.10.2`, `2.8`,
        /// `3.0-IV1`.
        case kafkaVersion
        /// Kafka's `ThrottledReplicaListValidator`: `*`, or `partition:broker` pairs separated by commas (or nothing).
        case throttledReplicas

        /// Whether values are comma-separated lists (IncrementalAlterConfigs may APPEND and SUBTRACT items).
        public var isList: Bool {
            switch self {
            case .list, .throttledReplicas: true
            default: false
            }
        }

        /// Kafka's `ConfigType` in DescribeConfigs v3+: 1 boolean, 2 string, 3 int, 5 long, 6 double, 7 list.
        public var describeType: Int8 {
            switch self {
            case .boolean: return 1
            case .string, .choice, .kafkaVersion: return 2
            case .int: return 3
            case .long: return 5
            case .double: return 6
            case .list, .throttledReplicas: return 7
            }
        }
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: String
    /// The broker property whose value is the default for every topic (`log.retention.ms` for `retention.ms`).
    public var brokerSynonym: String?
    public var documentation: String
    /// Set for a key that Kafka 3.x still accepted as a deprecated no-op (and Kafka 4 removed): the value is
    /// validated, stored and described as 3.x did, and has no effect. The text says why, for the broker's log line.
    public var deprecation: String? = nil

    /// Checks `value`, returning Kafka's style of message for a bad one.
    public func validate(_ value: String) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .int(let range), .long(let range):
            guard let number = Int64(trimmed) else {
                return
                    "Invalid value \(value) for configuration \(name): Not a number of type \(kind.describeType == 3 ? "INT" : "LONG")"
            }
            guard range.contains(number) else {
                return "Invalid value \(value) for configuration \(name): Value must be at least \(range.lowerBound)"
                    + (range.upperBound < Int64.max && range.upperBound != Int64(Int32.max)
                        ? " and at most \(range.upperBound)" : "")
            }
        case .double(let range):
            guard let number = Double(trimmed), range.contains(number) else {
                return "Invalid value \(value) for configuration \(name): must be a number in \(range)"
            }
        case .boolean:
            guard ["true", "false"].contains(trimmed.lowercased()) else {
                return "Invalid value \(value) for configuration \(name): Expected value to be either true or false"
            }
        case .string: break
        case .choice(let allowed):
            guard allowed.contains(where: { $0.lowercased() == trimmed.lowercased() }) else {
                return
                    "Invalid value \(value) for configuration \(name): String must be one of: \(allowed.joined(separator: ", "))"
            }
        case .kafkaVersion:
            guard Self.isKafkaVersion(trimmed) else {
                return "Invalid value \(value) for configuration \(name): Version `\(value)` is not a valid version"
            }
        case .throttledReplicas:
            guard ThrottledReplicas(parsing: trimmed) != nil else {
                return
                    "Invalid value \(value) for configuration \(name): Must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
            }
        case .list(let allowed):
            let items = trimmed.split(separator: ",").map {
                String($0).trimmingCharacters(in: CharacterSetLite.whitespaces).lowercased()
            }
            guard !items.isEmpty, items.allSatisfy({ item in allowed.contains { $0.lowercased() == item } }) else {
                return
                    "Invalid value \(value) for configuration \(name): items must be in [\(allowed.joined(separator: ", "))]"
            }
        }
        return nil
    }

    /// `MAJOR.MINOR[.PATCH][-IVn]`, each part digits.
    static func isKafkaVersion(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(numbers.count), numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) })
        else { return false }
        guard parts.count == 2 else { return true }
        let iv = parts[1]
        return iv.hasPrefix("IV") && iv.count > 2 && iv.dropFirst(2).allSatisfy(\.isASCIIDigit)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    func trimmingCharacters(in set: CharacterSetLite) -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// The only character set trimmed here (keeps the target free of Foundation).
enum CharacterSetLite {
    case whitespaces
}
