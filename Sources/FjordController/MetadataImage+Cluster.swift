import KafkaProtocol

/// Cluster membership and features in the image: the registrations of brokers and controllers, finalized feature
/// levels, and the questions the controller's managers ask of them.
extension MetadataImage {
    /// The unfenced brokers by id, each at its first listener, as Metadata and DescribeCluster list them (a broker
    /// in controlled shutdown is still listed: it serves until it stops).
    ///
    /// Setting it registers each broker given from configuration, or moves an existing registration's first
    /// listener and rack to the given address (how a node advertises the port the OS chose); brokers not given are
    /// left as they are. A registered broker's place in the cluster changes only by replaying records.
    public var brokers: [Broker] {
        get {
            brokerRegistrations.values.filter { !$0.isFenced }.sorted { $0.id < $1.id }.compactMap { registration in
                registration.endpoints.first.map {
                    Broker(nodeID: registration.id, host: $0.host, port: $0.port, rack: registration.rack)
                }
            }
        }
        set {
            for broker in newValue {
                var registration =
                    brokerRegistrations[broker.nodeID]
                    ?? BrokerRegistration(
                        id: broker.nodeID, incarnationID: .zero, epoch: -1, endpoints: [], rack: broker.rack,
                        isFenced: false,
                        supportedFeatures: [MetadataVersion.featureName: MetadataVersion.supportedLevels])
                let endpoint = BrokerRegistration.Endpoint(
                    name: registration.endpoints.first?.name ?? "", host: broker.host, port: broker.port,
                    securityProtocol: registration.endpoints.first?.securityProtocol ?? 0)
                if registration.endpoints.isEmpty {
                    registration.endpoints = [endpoint]
                } else {
                    registration.endpoints[0] = endpoint
                }
                registration.rack = broker.rack
                brokerRegistrations[broker.nodeID] = registration
            }
        }
    }

    /// The unfenced brokers that have a listener named `listener`, by id: what a broker answers a client that
    /// reached it on that listener (Kafka lists only brokers reachable on the client's listener).
    public func brokers(listener: String) -> [Broker] {
        brokerRegistrations.values.filter { !$0.isFenced }.sorted { $0.id < $1.id }
            .compactMap { $0.address(listener: listener) }
    }

    /// The registered controllers that have a listener named `listener`, by id, at that listener: what a controller
    /// answers DescribeCluster with on its controller listener (KIP-919, `--bootstrap-controller`).
    public func controllers(listener: String) -> [Broker] {
        controllerRegistrations.values.sorted { $0.id < $1.id }.compactMap { controller in
            controller.endpoints.first { $0.name == listener }.map {
                Broker(nodeID: controller.id, host: $0.host, port: $0.port)
            }
        }
    }

    /// Whether the finalized metadata.version lets controllers register (3.7-IV0, KIP-919).
    public var supportsControllerRegistration: Bool {
        metadataVersion.level >= MetadataVersion.controllerRegistration
    }

    /// The finalized `metadata.version`; a log without one is read at the oldest supported version, as Kafka does.
    public var metadataVersion: MetadataVersion {
        finalizedFeatures[MetadataVersion.featureName].flatMap(MetadataVersion.init(level:)) ?? .minimum
    }

    /// Whether `id` is registered, unfenced and not in controlled shutdown.
    public func isActive(_ id: NodeID) -> Bool { brokerRegistrations[id]?.isActive ?? false }

    /// Every partition `id` leads, as (topic id, partition index).
    public func partitions(ledBy id: NodeID) -> [(topicID: KafkaUUID, partition: Int32)] {
        partitions { $0.leader == id }
    }

    /// Every partition whose ISR holds `id`.
    public func partitions(withInSyncReplica id: NodeID) -> [(topicID: KafkaUUID, partition: Int32)] {
        partitions { $0.inSyncReplicas.contains(id) }
    }

    /// Every partition without a leader.
    public var leaderlessPartitions: [(topicID: KafkaUUID, partition: Int32)] { partitions { $0.leader < 0 } }

    /// The partitions matching `predicate`, in topic name then partition order (so records come out the same
    /// from the same image).
    func partitions(where predicate: (Partition) -> Bool) -> [(topicID: KafkaUUID, partition: Int32)] {
        topicNames.flatMap { name in
            let topic = topicsByName[name]!
            return topic.partitions.filter(predicate).map { (topic.topicID, $0.index) }
        }
    }

    /// The records that rebuild the image's feature levels and registrations when replayed into an empty image:
    /// the membership part of a metadata snapshot (KIP-630), metadata.version first. Brokers known only from
    /// configuration (epoch -1) are not written: each node adds itself from its own configuration.
    public func membershipSnapshotRecords() -> [MetadataRecord] {
        var records = [MetadataRecord]()
        if let level = finalizedFeatures[MetadataVersion.featureName] {
            records.append(.featureLevel(FeatureLevelRecord(name: MetadataVersion.featureName, featureLevel: level)))
        }
        for name in finalizedFeatures.keys.sorted() where name != MetadataVersion.featureName {
            records.append(.featureLevel(FeatureLevelRecord(name: name, featureLevel: finalizedFeatures[name]!)))
        }
        for registration in brokerRegistrations.values.sorted(by: { $0.id < $1.id }) where registration.epoch >= 0 {
            records.append(.registerBroker(registration.record))
        }
        for controller in controllerRegistrations.values.sorted(by: { $0.id < $1.id }) {
            records.append(.registerController(controller.record))
        }
        return records
    }

    // MARK: Replay

    /// Applies a membership or feature record. A record for a broker that is not registered, or for another
    /// incarnation (its epoch differs), is ignored: it can only come from a log this image did not start at.
    mutating func replayCluster(_ record: MetadataRecord, offset: Int64) {
        switch record {
        case .registerBroker(let register):
            brokerRegistrations[register.brokerID] = BrokerRegistration(register, offset: offset)
        case .unregisterBroker(let unregister):
            guard brokerRegistrations[unregister.brokerID]?.epoch == unregister.brokerEpoch else { break }
            brokerRegistrations.removeValue(forKey: unregister.brokerID)
        case .fenceBroker(let fence):
            changeRegistration(fence.id, epoch: fence.epoch, fenced: true, inControlledShutdown: nil)
        case .unfenceBroker(let unfence):
            changeRegistration(unfence.id, epoch: unfence.epoch, fenced: false, inControlledShutdown: nil)
        case .brokerRegistrationChange(let change):
            // Kafka's encodings: fenced 1 fence, -1 unfence, 0 no change; inControlledShutdown 1 enter, 0 no change.
            let fenced: Bool? = change.fenced == 1 ? true : change.fenced == -1 ? false : nil
            let shuttingDown: Bool? = change.inControlledShutdown == 1 ? true : nil
            changeRegistration(
                change.brokerID, epoch: change.brokerEpoch, fenced: fenced, inControlledShutdown: shuttingDown)
        case .registerController(let register):
            controllerRegistrations[register.controllerID] = ControllerRegistration(register)
        case .featureLevel(let feature):
            // Level 0 turns a feature off; metadata.version is never 0.
            if feature.featureLevel == 0 && feature.name != MetadataVersion.featureName {
                finalizedFeatures.removeValue(forKey: feature.name)
            } else {
                finalizedFeatures[feature.name] = feature.featureLevel
            }
        default:
            preconditionFailure("replayCluster given \(record)")
        }
    }

    private mutating func changeRegistration(_ id: NodeID, epoch: Int64, fenced: Bool?, inControlledShutdown: Bool?) {
        guard var registration = brokerRegistrations[id], registration.epoch == epoch else { return }
        if let fenced { registration.isFenced = fenced }
        if let inControlledShutdown { registration.inControlledShutdown = inControlledShutdown }
        brokerRegistrations[id] = registration
    }
}
