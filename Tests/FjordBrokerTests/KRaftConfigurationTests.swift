import Testing

@testable import FjordBroker

/// The KRaft keys: Kafka's names and defaults, the parsing of voters, bootstrap servers and the security protocol
/// map, and KafkaConfig's cross-key checks, each failing one naming the key.
@Suite struct KRaftConfigurationTests {
    private func configuration(_ text: String) throws(ConfigurationError) -> BrokerConfiguration {
        try BrokerConfiguration(properties: try PropertiesFile.parse(text))
    }

    /// A combined node as Kafka's `config/server.properties` (4.x) describes it.
    private let combined = """
        process.roles=broker,controller
        node.id=1
        controller.quorum.voters=1@localhost:9093
        listeners=PLAINTEXT://:9092,CONTROLLER://:9093
        controller.listener.names=CONTROLLER
        inter.broker.listener.name=PLAINTEXT
        listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
        log.dirs=/tmp/kraft-combined-logs
        """

    @Test func defaultsAreKafkasAndProcessRolesIsUnset() throws {
        let configuration = try BrokerConfiguration(properties: [])
        #expect(configuration.processRoles.isEmpty && !configuration.isKRaftMode)
        #expect(configuration.quorumElectionTimeoutMs == 1000)
        #expect(configuration.quorumElectionBackoffMaxMs == 1000)
        #expect(configuration.quorumFetchTimeoutMs == 2000)
        #expect(configuration.quorumRequestTimeoutMs == 2000)
        #expect(configuration.quorumRetryBackoffMs == 20)
        #expect(configuration.brokerSessionTimeoutMs == 9000)
        #expect(configuration.brokerHeartbeatIntervalMs == 2000)
        #expect(configuration.metadataSnapshotMaxNewRecordBytes == 20_971_520)
        #expect(configuration.metadataSnapshotMaxIntervalMs == 3_600_000)
        #expect(configuration.interBrokerListenerName == "PLAINTEXT")
        #expect(configuration.metadataLogDir == "./fjord-data")
        #expect(configuration.effectiveSecurityProtocolMap.count == 4)
        #expect(configuration.effectiveSecurityProtocolMap["SASL_SSL"] == .saslSSL)
    }

    @Test func kafkasCombinedExampleLoads() throws {
        let configuration = try configuration(combined)
        #expect(configuration.processRoles == [.broker, .controller])
        #expect(configuration.quorumVoters == [QuorumVoter(nodeID: 1, host: "localhost", port: 9093)])
        #expect(configuration.controllerListeners.map(\.port) == [9093])
        // Clients are told about the broker listener only.
        #expect(configuration.advertisedListeners == [Listener(host: "127.0.0.1", port: 9092)])
        #expect(configuration.metadataLogDir == "/tmp/kraft-combined-logs")
    }

    @Test func everyQuorumKeyIsParsed() throws {
        let configuration = try configuration(
            combined + """

                controller.quorum.voters=1@[::1]:9093,2@host-b:9094
                controller.quorum.bootstrap.servers=host-a:9093,[::1]:9094
                controller.quorum.election.timeout.ms=1500
                controller.quorum.election.backoff.max.ms=500
                controller.quorum.fetch.timeout.ms=3000
                controller.quorum.request.timeout.ms=2500
                controller.quorum.retry.backoff.ms=50
                broker.session.timeout.ms=18000
                broker.heartbeat.interval.ms=1000
                metadata.log.max.record.bytes.between.snapshots=1048576
                metadata.log.max.snapshot.interval.ms=0
                metadata.log.dir=/tmp/meta
                """)
        #expect(configuration.quorumVoters.map(\.description) == ["1@[::1]:9093", "2@host-b:9094"])
        #expect(
            configuration.quorumBootstrapServers == [.init(host: "host-a", port: 9093), .init(host: "::1", port: 9094)])
        #expect(configuration.quorumElectionTimeoutMs == 1500 && configuration.quorumElectionBackoffMaxMs == 500)
        #expect(configuration.quorumFetchTimeoutMs == 3000 && configuration.quorumRequestTimeoutMs == 2500)
        #expect(configuration.quorumRetryBackoffMs == 50)
        #expect(configuration.brokerSessionTimeoutMs == 18000 && configuration.brokerHeartbeatIntervalMs == 1000)
        #expect(configuration.metadataSnapshotMaxNewRecordBytes == 1_048_576)
        #expect(configuration.metadataSnapshotMaxIntervalMs == 0)
        #expect(configuration.metadataLogDir == "/tmp/meta")
    }

    /// Without an explicit map, KRaft mode maps each controller listener name to PLAINTEXT, as Kafka does.
    @Test func theDefaultMapCoversControllerListeners() throws {
        let configuration = try configuration(
            """
            process.roles=broker,controller
            node.id=1
            controller.quorum.voters=1@localhost:9093
            listeners=PLAINTEXT://:9092,CONTROLLER://:9093
            controller.listener.names=CONTROLLER
            """)
        #expect(configuration.effectiveSecurityProtocolMap["CONTROLLER"] == .plaintext)
    }

    @Test func unsetProcessRolesKeepsTodaysBehaviourButHidesControllerListeners() throws {
        let configuration = try configuration(
            "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n")
        #expect(configuration.listeners.count == 2)
        #expect(configuration.advertisedListeners.map(\.name) == ["PLAINTEXT"])
        // A listener name Kafka's map does not know is fine without process.roles, as before.
        #expect(try self.configuration("listeners=EXTERNAL://:9092").advertisedListeners.map(\.name) == ["EXTERNAL"])
    }

    /// Each row: extra properties on top of a base, the key the error must name, and a phrase of Kafka's message.
    @Test(arguments: [
        ("process.roles=broker,broker", "process.roles", "Duplicate role names"),
        ("process.roles=broker,controller\nnode.id=-", "node.id", "not a 32-bit integer"),
        (
            "process.roles=broker,controller\ncontroller.quorum.voters=x@host:1", "controller.quorum.voters",
            "Failed to parse voter ID"
        ),
        (
            "process.roles=broker,controller\ncontroller.quorum.voters=1-host:1", "controller.quorum.voters",
            "{id}@{host}:{port}"
        ),
        ("process.roles=broker,controller\ncontroller.quorum.voters=1@host", "controller.quorum.voters", "port"),
        (
            "process.roles=broker,controller\ncontroller.quorum.voters=1@h:1,1@h:2", "controller.quorum.voters",
            "more than once"
        ),
        (
            "process.roles=broker\ncontroller.quorum.bootstrap.servers=nohost", "controller.quorum.bootstrap.servers",
            "{host}:{port}"
        ),
        (
            "process.roles=broker\nlistener.security.protocol.map=PLAINTEXT:TLS", "listener.security.protocol.map",
            "Invalid security protocol `TLS`"
        ),
        ("controller.quorum.election.timeout.ms=0", "controller.quorum.election.timeout.ms", "not an integer in 1"),
        (
            "metadata.log.max.record.bytes.between.snapshots=0", "metadata.log.max.record.bytes.between.snapshots",
            "not an integer in 1"
        ),
        ("metadata.log.max.snapshot.interval.ms=-1", "metadata.log.max.snapshot.interval.ms", "not an integer in 0"),
        ("broker.session.timeout.ms=abc", "broker.session.timeout.ms", "not a 32-bit integer"),
    ])
    func badValuesNameTheirKey(text: String, key: String, message: String) {
        expectFailure(text, key: key, message: message)
    }

    /// Kafka's cross-key rules once `process.roles` is set.
    @Test(arguments: [
        // node.id is required, and must agree with broker.id.
        (
            "process.roles=broker,controller\ncontroller.quorum.voters=1@h:9093\n"
                + "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
                + "controller.listener.names=CONTROLLER", "node.id", "Missing configuration `node.id`"
        ),
        (
            "process.roles=broker,controller\nnode.id=1\nbroker.id=2\ncontroller.quorum.voters=1@h:9093\n"
                + "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER", "node.id",
            "same value as `broker.id`"
        ),
        // Voters or bootstrap servers are required.
        (
            "process.roles=broker,controller\nnode.id=1\nlisteners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
                + "controller.listener.names=CONTROLLER", "controller.quorum.voters",
            "either controller.quorum.bootstrap.servers"
        ),
        // A controller's listener names must be in listeners, and its node id among static voters.
        (
            "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@h:9093\n"
                + "listeners=PLAINTEXT://:9092",
            "controller.listener.names", "must contain at least one value appearing in the 'listeners'"
        ),
        (
            "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@h:9093\n"
                + "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER,OTHER",
            "controller.listener.names", "must only contain values appearing in the 'listeners'"
        ),
        (
            "process.roles=broker,controller\nnode.id=4\ncontroller.quorum.voters=1@h:9093\n"
                + "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER",
            "controller.quorum.voters", "the node id 4 must be included in the set of voters"
        ),
        // A controller-only node listens on controller listeners only.
        (
            "process.roles=controller\nnode.id=1\ncontroller.quorum.voters=1@h:9093\n"
                + "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER", "listeners",
            "must only contain KRaft controller listeners"
        ),
        // A broker-only node: not a voter, a controller listener name, none of its own listeners a controller one.
        (
            "process.roles=broker\nnode.id=1\ncontroller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER",
            "node.id", "must not be included in the set of voters"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093", "controller.listener.names",
            "at least one value when running KRaft with just the broker role"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER\n"
                + "listeners=PLAINTEXT://:9092,CONTROLLER://:9093", "controller.listener.names",
            "must not contain a value appearing in the 'listeners'"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER\n"
                + "listener.security.protocol.map=PLAINTEXT:PLAINTEXT", "listener.security.protocol.map",
            "Controller listener with name CONTROLLER"
        ),
        // Every listener needs a protocol; PLAINTEXT and (for clients) SASL_PLAINTEXT are served.
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.bootstrap.servers=h:9093\n"
                + "controller.listener.names=CONTROLLER\n"
                + "listeners=EXTERNAL://:9092\ninter.broker.listener.name=EXTERNAL", "listener.security.protocol.map",
            "No security protocol defined for listener EXTERNAL"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.bootstrap.servers=h:9093\n"
                + "controller.listener.names=CONTROLLER\n"
                + "listeners=SSL://:9092\ninter.broker.listener.name=SSL\nssl.keystore.location=/k\n"
                + "listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT",
            "listener.security.protocol.map", "do not speak TLS or SASL to each other yet"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.bootstrap.servers=h:9093\n"
                + "controller.listener.names=CONTROLLER\n"
                + "listeners=SASL_PLAINTEXT://:9092,PLAINTEXT://:9093\n"
                + "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,"
                + "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT", "sasl.enabled.mechanisms",
            "SASL mechanism GSSAPI is not supported"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.bootstrap.servers=h:9093\n"
                + "controller.listener.names=CONTROLLER\n"
                + "listeners=SASL_PLAINTEXT://:9092\ninter.broker.listener.name=SASL_PLAINTEXT\n"
                + "sasl.enabled.mechanisms=SCRAM-SHA-256\n"
                + "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "listener.security.protocol.map", "is the inter-broker listener"
        ),
        // The inter-broker listener must be advertised, and advertised names must be listeners.
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER\n"
                + "inter.broker.listener.name=INTERNAL\n"
                + "listener.security.protocol.map=INTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
                + "CONTROLLER:PLAINTEXT", "inter.broker.listener.name",
            "must be a listener name defined in advertised.listeners"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER\n"
                + "advertised.listeners=PLAINTEXT://h:9092,OTHER://h:9095\n"
                + "listener.security.protocol.map=OTHER:PLAINTEXT,"
                + "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT", "advertised.listeners",
            "subset of the ones defined in listeners"
        ),
        (
            "process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER\n"
                + "advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners", "nonroutable meta-address"
        ),
        (
            "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@h:9093\n"
                + "listeners=PLAINTEXT://:9092,PLAINTEXT://:9093,CONTROLLER://:9094\n"
                + "controller.listener.names=CONTROLLER",
            "listeners",
            "Each listener must have a different name"
        ),
        // Everything is a controller listener: nothing left for clients (checked with or without process.roles).
        (
            "listeners=CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER", "listeners",
            "at least one broker advertised listener"
        ),
    ])
    func kafkasCrossKeyRules(text: String, key: String, message: String) {
        expectFailure(text, key: key, message: message)
    }

    /// Kafka's sample `config/kraft/controller.properties` and `broker.properties` (their KRaft keys): a controller
    /// advertising its controller listener, a broker that knows the quorum by its bootstrap servers.
    @Test func kafkasSeparateRoleSamplesLoad() throws {
        let controller = try configuration(
            """
            process.roles=controller
            node.id=1
            controller.quorum.bootstrap.servers=localhost:9093
            listeners=CONTROLLER://:9093
            advertised.listeners=CONTROLLER://localhost:9093
            controller.listener.names=CONTROLLER
            """)
        #expect(controller.processRoles == [.controller] && controller.controllerListeners.map(\.port) == [9093])
        let broker = try configuration(
            """
            process.roles=broker
            node.id=2
            controller.quorum.bootstrap.servers=localhost:9093
            listeners=PLAINTEXT://localhost:9092
            inter.broker.listener.name=PLAINTEXT
            advertised.listeners=PLAINTEXT://localhost:9092
            controller.listener.names=CONTROLLER
            listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
            """)
        #expect(broker.processRoles == [.broker] && broker.controllerListeners.isEmpty)
        #expect(broker.advertisedListeners.map(\.port) == [9092])
    }

    @Test func aBrokerOnlyNodeWithDynamicQuorumLoads() throws {
        let configuration = try configuration(
            """
            process.roles=broker
            node.id=2
            controller.quorum.bootstrap.servers=localhost:9093
            controller.listener.names=CONTROLLER
            listeners=PLAINTEXT://:9092
            """)
        #expect(configuration.processRoles == [.broker] && configuration.quorumVoters.isEmpty)
        #expect(configuration.effectiveSecurityProtocolMap["CONTROLLER"] == .plaintext)
    }

    private func expectFailure(
        _ text: String, key: String, message: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try configuration(text)
            Issue.record("accepted:\n\(text)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.key == key, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(message), "\(error)", sourceLocation: sourceLocation)
        }
    }
}
