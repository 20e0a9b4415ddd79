/// Who a client quota applies to (KIP-55, KIP-546): a user, a client id, or both; each component a name or the
/// default (`<default>`, for every user or client id without a quota of its own). Kafka's entity types `user` and
/// `client-id` (the `ip` entity of connection quotas is not served).
public struct ClientQuotaEntity: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable, CustomStringConvertible {
        case name(String)
        case defaultEntity

        public var description: String {
            switch self {
            case .name(let name): name
            case .defaultEntity: "<default>"
            }
        }
    }

    public var user: Component?
    public var clientID: Component?

    public init(user: Component? = nil, clientID: Component? = nil) {
        self.user = user
        self.clientID = clientID
    }

    public static let userType = "user"
    public static let clientIDType = "client-id"

    public var description: String {
        [user.map { "user=\($0)" }, clientID.map { "client-id=\($0)" }].compactMap { $0 }.joined(separator: ",")
    }

    /// The entities whose quota applies to `user` connected as `clientID`, most specific first (Kafka's order):
    /// user+client, user+default client, user, default user+client, default user+default client, default user,
    /// client, default client.
    public static func precedence(user: String, clientID: String) -> [ClientQuotaEntity] {
        [
            ClientQuotaEntity(user: .name(user), clientID: .name(clientID)),
            ClientQuotaEntity(user: .name(user), clientID: .defaultEntity),
            ClientQuotaEntity(user: .name(user)),
            ClientQuotaEntity(user: .defaultEntity, clientID: .name(clientID)),
            ClientQuotaEntity(user: .defaultEntity, clientID: .defaultEntity),
            ClientQuotaEntity(user: .defaultEntity),
            ClientQuotaEntity(clientID: .name(clientID)),
            ClientQuotaEntity(clientID: .defaultEntity),
        ]
    }
}

/// The quota keys Kafka defines for user and client-id entities, with what their values must be.
public enum ClientQuotaKey: String, Sendable, CaseIterable {
    case producerByteRate = "producer_byte_rate"
    case consumerByteRate = "consumer_byte_rate"
    case requestPercentage = "request_percentage"
    case controllerMutationRate = "controller_mutation_rate"

    /// Why `value` is refused for this key, or nil (byte rates are whole bytes per second, above zero).
    public func problem(_ value: Double) -> String? {
        guard value.isFinite, value > 0 else { return "\(rawValue) must be positive, not \(value)" }
        if self == .producerByteRate || self == .consumerByteRate, value.rounded() != value {
            return "\(rawValue) must be a whole number of bytes per second, not \(value)"
        }
        return nil
    }
}
