import Logging

/// How a `KafkaClient` reaches the cluster: shared by `Producer`, `Consumer` and `Admin`.
public struct ClientConfiguration: Sendable {
    /// Brokers to ask for the first metadata; the rest of the cluster is learned from them.
    /// Kafka: `bootstrap.servers`. No default.
    public var bootstrapServers: [BrokerAddress]
    /// Sent in every request header so brokers can name the client in logs and quotas. Kafka: `client.id`.
    /// Default `"fjord-client"`.
    public var clientID: String = "fjord-client"
    /// How long a request may wait for its response before it fails with `.timeout`.
    /// Kafka: `request.timeout.ms`. Default 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// How long opening a TCP connection may take. Kafka: `socket.connection.setup.timeout.ms`. Default 10 s.
    public var connectTimeout: Duration = .seconds(10)
    /// The first wait before reconnecting to a broker after a failed attempt; doubles on each failure.
    /// Kafka: `reconnect.backoff.ms`. Default 50 ms.
    public var reconnectBackoff: Duration = .milliseconds(50)
    /// The longest wait between reconnection attempts. Kafka: `reconnect.backoff.max.ms`. Default 1 s.
    public var reconnectBackoffMax: Duration = .seconds(1)
    /// Requests sent on one connection and not yet answered; more wait their turn.
    /// Kafka: `max.in.flight.requests.per.connection`. Default 5.
    public var maxInFlightPerConnection: Int = 5
    /// Metadata older than this is refreshed before it is used. Kafka: `metadata.max.age.ms`. Default 5 min.
    public var metadataMaxAge: Duration = .seconds(300)
    /// The wait between retries of a failed metadata lookup or retriable request. Kafka: `retry.backoff.ms`.
    /// Default 100 ms.
    public var retryBackoff: Duration = .milliseconds(100)
    /// The largest response frame accepted; a larger size prefix closes the connection before any allocation.
    /// Kafka: none on the client (it is bounded by `fetch.max.bytes`). Default 100 MiB.
    public var maxResponseBytes: Int = 100 << 20
    /// Whether a Metadata request may create a missing topic (when the broker allows it).
    /// Kafka: `allow.auto.create.topics`. Default true.
    public var allowAutoTopicCreation: Bool = true
    /// TLS to the brokers (an SSL or SASL_SSL listener); nil: plaintext. Default nil.
    public var tls: ClientTLS?
    /// How the client authenticates on a SASL_PLAINTEXT or SASL_SSL listener; nil: it does not. Kafka:
    /// `security.protocol=SASL_PLAINTEXT`, `sasl.mechanism` and the login's `sasl.jaas.config`. Default nil.
    public var sasl: SaslAuthentication?
    /// Where the client logs. Default: a logger labelled `fjord.client`.
    public var logger: Logger = Logger(label: "fjord.client")

    /// A configuration with Kafka's defaults and the given bootstrap servers.
    public init(bootstrapServers: [BrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }

    /// A configuration from `host:port` strings; invalid entries are dropped.
    public init(bootstrapServers: String...) {
        self.bootstrapServers = bootstrapServers.compactMap(BrokerAddress.init)
    }
}
