extension BrokerConfiguration {
    /// Parses the KRaft keys (`process.roles`, the quorum, controller listeners, snapshots, the active controller's
    /// elections); any other key was
    /// checked for its kind by `ValueKind` and is accepted as is.
    mutating func applyKRaft(key: String, value: String) throws(ConfigurationError) {
        switch key {
        case "process.roles": processRoles = try ProcessRole.parseList(value, key: key)
        case "controller.listener.names":
            controllerListenerNames = value.split(separator: ",").map { $0.trimmingCharacters(in: " ").uppercased() }
                .filter { !$0.isEmpty }
        case "controller.quorum.voters": quorumVoters = try QuorumVoter.parseList(value, key: key)
        case "controller.quorum.bootstrap.servers": quorumBootstrapServers = try HostAndPort.parseList(value, key: key)
        case "listener.security.protocol.map":
            listenerSecurityProtocolMapOverride = try SecurityProtocol.parseMap(value, key: key)
        case "inter.broker.listener.name":
            guard !value.isEmpty else { throw ConfigurationError(key: key, "must name a listener") }
            interBrokerListenerName = value.uppercased()
        case "controller.quorum.election.timeout.ms":
            quorumElectionTimeoutMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "controller.quorum.election.backoff.max.ms":
            quorumElectionBackoffMaxMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "controller.quorum.fetch.timeout.ms":
            quorumFetchTimeoutMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "controller.quorum.request.timeout.ms":
            quorumRequestTimeoutMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "controller.quorum.retry.backoff.ms":
            quorumRetryBackoffMs = try Self.integer(value, key: key, in: 0...Int(Int32.max))
        case "broker.session.timeout.ms":
            brokerSessionTimeoutMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "broker.heartbeat.interval.ms":
            brokerHeartbeatIntervalMs = try Self.integer(value, key: key, in: 1...Int(Int32.max))
        case "metadata.log.max.record.bytes.between.snapshots":
            metadataSnapshotMaxNewRecordBytes = try Self.integer(value, key: key, in: 1...Int(Int64.max))
        case "metadata.log.max.snapshot.interval.ms":
            metadataSnapshotMaxIntervalMs = try Self.integer(value, key: key, in: 0...Int(Int64.max))
        case "auto.leader.rebalance.enable": autoLeaderRebalanceEnable = value.lowercased() == "true"
        case "leader.imbalance.check.interval.seconds":
            leaderImbalanceCheckIntervalSeconds = try Self.integer(value, key: key, in: 1...Int(Int64.max))
        case "leader.imbalance.per.broker.percentage":
            // Accepted as Kafka 4 accepts it; its KRaft controller balances every imbalanced partition instead.
            let _: Int32 = try Self.integer(value, key: key, in: 0...100)
        case "unclean.leader.election.interval.ms":
            uncleanLeaderElectionIntervalMs = try Self.integer(value, key: key, in: 1...Int(Int64.max))
        case "unclean.leader.election.enable": uncleanLeaderElectionEnable = value.lowercased() == "true"
        case "metadata.log.dir":
            guard !value.isEmpty else { throw ConfigurationError(key: key, "needs a directory") }
            metadataLogDirOverride = value
        default: break
        }
    }

    /// Whether this node runs in KRaft mode (`process.roles` set): formatted storage, the quorum keys checked.
    public var isKRaftMode: Bool { !processRoles.isEmpty }

    /// The folder of the metadata log (`__cluster_metadata-0` is created in it). Kafka: `metadata.log.dir`, else the
    /// first of `log.dirs`.
    public var metadataLogDir: String { metadataLogDirOverride ?? logDirs[0] }

    /// The listener name → security protocol map in force, as Kafka computes it: the explicit map when given;
    /// otherwise Kafka's default, to which KRaft mode adds PLAINTEXT for each controller listener name unless some
    /// listener or controller name is an SSL or SASL protocol's.
    public var effectiveSecurityProtocolMap: [String: SecurityProtocol] {
        if let listenerSecurityProtocolMapOverride { return listenerSecurityProtocolMapOverride }
        var map = SecurityProtocol.defaultMap
        guard isKRaftMode else { return map }
        let secured: Set<String> = ["SSL", "SASL_PLAINTEXT", "SASL_SSL"]
        if controllerListenerNames.contains(where: secured.contains)
            || listeners.contains(where: { secured.contains($0.name) })
        {
            return map
        }
        for name in controllerListenerNames where name != "PLAINTEXT" { map[name] = .plaintext }
        return map
    }

    /// The listeners of `listeners` that are controller listeners, in `controller.listener.names` order.
    public var controllerListeners: [Listener] {
        controllerListenerNames.compactMap { name in listeners.first { $0.name == name } }
    }

    /// The node ids of the static voters.
    public var quorumVoterIDs: Set<Int32> { Set(quorumVoters.map(\.nodeID)) }
}
