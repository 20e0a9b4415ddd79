extension BrokerConfiguration {
    /// Kafka's cross-key checks (`KafkaConfig.validateValues`), with its messages, each error naming the key to
    /// change. With `process.roles` unset only the one check every broker needs runs (something left to advertise),
    /// so today's single-node configurations behave as before.
    func validateKRaft() throws(ConfigurationError) {
        if processRoles.isEmpty || processRoles.contains(.broker) {
            guard !advertisedListeners.isEmpty else {
                throw ConfigurationError(
                    key: "listeners",
                    "There must be at least one broker advertised listener. Perhaps all listeners appear in "
                        + "controller.listener.names?")
            }
        }
        // SASL and TLS listeners are checked in both modes (a single node serves them too).
        _ = try saslListenerConfigurations()
        _ = try tlsListenerConfigurations()
        guard isKRaftMode else {
            for listener in listeners {
                if let securityProtocol = effectiveSecurityProtocolMap[listener.name] {
                    try Self.requireServed(securityProtocol, listener: listener.name, internalUse: nil)
                }
            }
            return
        }
        try validateNodeID()
        try validateListenerSecurity()
        guard !quorumVoters.isEmpty || !quorumBootstrapServers.isEmpty else {
            throw ConfigurationError(
                key: "controller.quorum.voters",
                "If using process.roles, either controller.quorum.bootstrap.servers must contain the set of bootstrap "
                    + "controllers or controller.quorum.voters must contain a parseable set of controllers.")
        }
        if processRoles == [.broker] {
            try validateBrokerOnly()
        } else {
            try validateController()
        }
        if processRoles.contains(.broker) { try validateBrokerListeners() }
    }

    private func validateNodeID() throws(ConfigurationError) {
        guard properties["node.id"] != nil || properties["broker.id"] != nil else {
            throw ConfigurationError(
                key: "node.id",
                "Missing configuration `node.id` which is required when `process.roles` is defined (i.e. when "
                    + "running in KRaft mode).")
        }
        if let node = properties["node.id"], let broker = properties["broker.id"], Int32(node) != Int32(broker) {
            throw ConfigurationError(key: "node.id", "You must set `node.id` to the same value as `broker.id`.")
        }
    }

    /// Every listener needs a security protocol from the map in force, and Fjord serves PLAINTEXT only.
    private func validateListenerSecurity() throws(ConfigurationError) {
        let map = effectiveSecurityProtocolMap
        let names = listeners.map(\.name)
        guard Set(names).count == names.count else {
            throw ConfigurationError(
                key: "listeners", "Each listener must have a different name, listeners: \(names.joined(separator: ","))"
            )
        }
        for listener in listeners + (advertisedListenersOverride ?? []) {
            guard let securityProtocol = map[listener.name] else {
                throw ConfigurationError(
                    key: "listener.security.protocol.map", "No security protocol defined for listener \(listener.name)")
            }
            let internalUse =
                controllerListenerNames.contains(listener.name)
                ? "a controller listener"
                : listener.name == interBrokerListenerName ? "the inter-broker listener" : nil
            try Self.requireServed(securityProtocol, listener: listener.name, internalUse: internalUse)
        }
        for name in controllerListenerNames {
            if let securityProtocol = map[name] {
                try Self.requireServed(securityProtocol, listener: name, internalUse: "a controller listener")
            }
        }
    }

    /// PLAINTEXT everywhere; SSL, SASL_PLAINTEXT and SASL_SSL on the listeners clients use (the brokers' own
    /// connections to each other and to the controllers speak neither TLS nor SASL yet).
    private static func requireServed(_ securityProtocol: SecurityProtocol, listener: String, internalUse: String?)
        throws(ConfigurationError)
    {
        guard securityProtocol != .plaintext, let internalUse else { return }
        throw ConfigurationError(
            key: "listener.security.protocol.map",
            "listener \(listener) uses \(securityProtocol.rawValue) and is \(internalUse): Fjord's brokers and "
                + "controllers do not speak TLS or SASL to each other yet; give them a PLAINTEXT listener")
    }

    private func validateBrokerOnly() throws(ConfigurationError) {
        guard !quorumVoterIDs.contains(nodeID) else {
            throw ConfigurationError(
                key: "node.id",
                "If process.roles contains just the 'broker' role, the node id \(nodeID) must not be included in the "
                    + "set of voters controller.quorum.voters=\(quorumVoterIDs.sorted())")
        }
        guard !controllerListenerNames.isEmpty else {
            throw ConfigurationError(
                key: "controller.listener.names",
                "controller.listener.names must contain at least one value when running KRaft with just the broker role"
            )
        }
        guard controllerListeners.isEmpty else {
            throw ConfigurationError(
                key: "controller.listener.names",
                "controller.listener.names must not contain a value appearing in the 'listeners' configuration when "
                    + "running KRaft with just the broker role")
        }
        for name in controllerListenerNames where effectiveSecurityProtocolMap[name] == nil {
            throw ConfigurationError(
                key: "listener.security.protocol.map",
                "Controller listener with name \(name) defined in controller.listener.names not found in "
                    + "listener.security.protocol.map (an explicit security mapping for each controller listener is "
                    + "required if listener.security.protocol.map is non-empty, or if there are security protocols "
                    + "other than PLAINTEXT in use)")
        }
    }

    /// Checks of a controller-only or combined node.
    private func validateController() throws(ConfigurationError) {
        if processRoles == [.controller] {
            guard controllerListeners.count == listeners.count else {
                throw ConfigurationError(
                    key: "listeners",
                    "The listeners config must only contain KRaft controller listeners from "
                        + "controller.listener.names when process.roles=controller")
            }
        }
        guard quorumVoters.isEmpty || quorumVoterIDs.contains(nodeID) else {
            throw ConfigurationError(
                key: "controller.quorum.voters",
                "If process.roles contains the 'controller' role, the node id \(nodeID) must be included in the set "
                    + "of voters controller.quorum.voters=\(quorumVoterIDs.sorted())")
        }
        guard !controllerListeners.isEmpty else {
            throw ConfigurationError(
                key: "controller.listener.names",
                "controller.listener.names must contain at least one value appearing in the 'listeners' "
                    + "configuration when running the KRaft controller role")
        }
        let names = Set(listeners.map(\.name))
        guard controllerListenerNames.allSatisfy(names.contains) else {
            throw ConfigurationError(
                key: "controller.listener.names",
                "controller.listener.names must only contain values appearing in the 'listeners' configuration "
                    + "when running the KRaft controller role")
        }
    }

    /// Checks of a node with the broker role: the inter-broker listener and the advertised listeners.
    private func validateBrokerListeners() throws(ConfigurationError) {
        let advertisedNames = Set(advertisedListeners.map(\.name))
        guard effectiveSecurityProtocolMap[interBrokerListenerName] != nil else {
            throw ConfigurationError(
                key: "inter.broker.listener.name",
                "Listener with name \(interBrokerListenerName) defined in inter.broker.listener.name not found in "
                    + "listener.security.protocol.map.")
        }
        let options = advertisedNames.sorted().joined(separator: ",")
        guard advertisedNames.contains(interBrokerListenerName) else {
            throw ConfigurationError(
                key: "inter.broker.listener.name",
                "inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid "
                    + "options based on currently configured listeners are \(options)"
            )
        }
        let listenerNames = Set(listeners.map(\.name))
        guard advertisedNames.isSubset(of: listenerNames) else {
            throw ConfigurationError(
                key: "advertised.listeners",
                "advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. "
                    + "Found \(advertisedNames.sorted().joined(separator: ",")). The valid options based on the "
                    + "current configuration are \(listenerNames.sorted().joined(separator: ","))")
        }
        guard !(advertisedListenersOverride ?? []).contains(where: { $0.host == "0.0.0.0" }) else {
            throw ConfigurationError(
                key: "advertised.listeners",
                "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.")
        }
    }
}
