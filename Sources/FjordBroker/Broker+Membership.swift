import FjordController
import FjordStorage
import KafkaProtocol
import NIOCore

extension Broker {
    /// The broker side's lifecycle with the active controller: its registration names this incarnation (random per
    /// process start), the advertised broker listeners with the ports actually bound, `broker.rack`, the features
    /// this build supports and the data directory's id.
    func makeLifecycle(quorum: QuorumRuntime, services: BrokerServices, meta: MetaProperties, boundPorts: [Int])
        -> BrokerLifecycle
    {
        let controllerNames = Set(configuration.controllerListenerNames)
        let brokerListeners = configuration.listeners.filter { !controllerNames.contains($0.name) }
        var bound = [String: Int]()
        for (listener, port) in zip(brokerListeners, boundPorts) { bound[listener.name] = port }
        let protocols = configuration.effectiveSecurityProtocolMap
        let listeners = configuration.advertisedListeners.map { listener in
            BrokerRegistrationRequest.Listener(
                name: listener.name, host: listener.host,
                port: UInt16(clamping: listener.port == 0 ? bound[listener.name] ?? 0 : listener.port),
                securityProtocol: Self.securityProtocolID(protocols[listener.name] ?? .plaintext))
        }
        let directoryID = KafkaUUID(base64URLEncoded: meta.directoryID) ?? .zero
        let rack = configuration.brokerRack
        let registration = BrokerRegistrationRequest(
            brokerID: configuration.nodeID, clusterID: meta.clusterID, incarnationID: .random(),
            listeners: listeners,
            features: [
                .init(
                    name: MetadataVersion.featureName,
                    minSupportedVersion: MetadataVersion.supportedLevels.lowerBound,
                    maxSupportedVersion: MetadataVersion.supportedLevels.upperBound)
            ],
            rack: rack, logDirs: directoryID == .zero ? [] : [directoryID])
        return BrokerLifecycle(
            registration: registration, heartbeatIntervalMs: Int64(configuration.brokerHeartbeatIntervalMs),
            driver: quorum.driver, peers: quorum.peers, publisher: services.metadata.publisher,
            requestTimeout: .milliseconds(Int64(configuration.quorumRequestTimeoutMs)), logger: logger)
    }

    /// Kafka's `SecurityProtocol` ids, as registration listeners carry them.
    static func securityProtocolID(_ value: SecurityProtocol) -> Int16 {
        switch value {
        case .plaintext: 0
        case .ssl: 1
        case .saslPlaintext: 2
        case .saslSSL: 3
        }
    }
}
