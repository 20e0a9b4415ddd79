import KafkaProtocol

/// A broker as the metadata log knows it: one incarnation of one broker id, built by replaying its
/// `RegisterBrokerRecord` and changed by the fence, unfence and registration-change records that name its epoch.
///
/// The epoch is the offset of the `RegisterBrokerRecord` that started this incarnation: every later record about
/// the broker carries it, so a record meant for an older incarnation can be told apart. A broker that re-registers
/// with the same incarnation id keeps its epoch (its registration is amended, not replaced).
public struct BrokerRegistration: Hashable, Sendable {
    /// One listener the broker serves clients or other brokers on.
    public struct Endpoint: Hashable, Sendable {
        /// The listener name, `PLAINTEXT` or `INTERNAL`; empty for a broker known only from configuration.
        public var name: String
        public var host: String
        public var port: Int32
        /// Kafka's `SecurityProtocol` id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL).
        public var securityProtocol: Int16

        public init(name: String, host: String, port: Int32, securityProtocol: Int16 = 0) {
            self.name = name
            self.host = host
            self.port = port
            self.securityProtocol = securityProtocol
        }
    }

    public var id: NodeID
    /// Random per broker process start: a new one means the broker restarted.
    public var incarnationID: KafkaUUID
    /// The offset of the registration record that started this incarnation; -1 for a broker from configuration.
    public var epoch: Int64
    /// The offset of the latest `RegisterBrokerRecord` for this broker (an amended registration moves it): the
    /// broker has caught up with the metadata log, and may be unfenced, once it has replayed this far.
    public var registrationOffset: Int64
    public var endpoints: [Endpoint]
    public var rack: String?
    /// A fenced broker leads nothing, is in no new ISR and gets no new replicas.
    public var isFenced: Bool
    /// The broker asked to stop: it keeps serving, but its leaderships are moved away.
    public var inControlledShutdown: Bool
    /// Feature name → the levels the broker supports.
    public var supportedFeatures: [String: ClosedRange<Int16>]
    /// The ids of the broker's online log directories (KIP-858), empty before 3.7-IV2.
    public var logDirs: [KafkaUUID]

    public init(
        id: NodeID, incarnationID: KafkaUUID, epoch: Int64, registrationOffset: Int64? = nil, endpoints: [Endpoint],
        rack: String?, isFenced: Bool, inControlledShutdown: Bool = false,
        supportedFeatures: [String: ClosedRange<Int16>] = [:], logDirs: [KafkaUUID] = []
    ) {
        self.id = id
        self.incarnationID = incarnationID
        self.epoch = epoch
        self.registrationOffset = registrationOffset ?? epoch
        self.endpoints = endpoints
        self.rack = rack
        self.isFenced = isFenced
        self.inControlledShutdown = inControlledShutdown
        self.supportedFeatures = supportedFeatures
        self.logDirs = logDirs
    }

    /// The registration a replayed record describes; `offset` is where the record sits in the log (-1 unknown).
    init(_ record: RegisterBrokerRecord, offset: Int64) {
        var features = [String: ClosedRange<Int16>]()
        for feature in record.features where feature.minSupportedVersion <= feature.maxSupportedVersion {
            features[feature.name] = feature.minSupportedVersion...feature.maxSupportedVersion
        }
        self.init(
            id: record.brokerID, incarnationID: record.incarnationID, epoch: record.brokerEpoch,
            registrationOffset: offset >= 0 ? offset : record.brokerEpoch,
            endpoints: record.endPoints.map {
                Endpoint(name: $0.name, host: $0.host, port: Int32($0.port), securityProtocol: $0.securityProtocol)
            },
            rack: record.rack, isFenced: record.fenced, inControlledShutdown: record.inControlledShutdown,
            supportedFeatures: features, logDirs: record.logDirs
        )
    }

    /// The record that recreates this registration (for a snapshot).
    var record: RegisterBrokerRecord {
        RegisterBrokerRecord(
            brokerID: id, incarnationID: incarnationID, brokerEpoch: epoch,
            endPoints: endpoints.map {
                .init(
                    name: $0.name, host: $0.host, port: UInt16(clamping: $0.port), securityProtocol: $0.securityProtocol
                )
            },
            features: supportedFeatures.keys.sorted().map {
                .init(
                    name: $0, minSupportedVersion: supportedFeatures[$0]!.lowerBound,
                    maxSupportedVersion: supportedFeatures[$0]!.upperBound)
            },
            rack: rack, fenced: isFenced, inControlledShutdown: inControlledShutdown, logDirs: logDirs)
    }

    /// Unfenced and not shutting down: may lead partitions and receive new replicas (Kafka's `isActive`).
    public var isActive: Bool { !isFenced && !inControlledShutdown }

    /// The broker as clients see it on `listener`, nil when it has no such listener.
    public func address(listener: String) -> MetadataImage.Broker? {
        endpoints.first { $0.name == listener }.map {
            MetadataImage.Broker(nodeID: id, host: $0.host, port: $0.port, rack: rack)
        }
    }
}
