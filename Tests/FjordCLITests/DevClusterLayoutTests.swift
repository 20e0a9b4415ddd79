import Testing

@testable import FjordBroker
@testable import fjord

/// `fjord dev cluster`: the node configurations it writes are valid KRaft configurations of one static quorum, and
/// the folder's state file round-trips.
@Suite struct DevClusterLayoutTests {
    @Test func everyNodeIsACombinedVoterOnItsOwnPorts() throws {
        let layout = DevClusterLayout(directory: "/tmp/c", count: 3, ports: Array(40_001...40_009))
        #expect(layout.voters == "1@127.0.0.1:40002,2@127.0.0.1:40005,3@127.0.0.1:40008")
        #expect(layout.bootstrapServers == "127.0.0.1:40001,127.0.0.1:40004,127.0.0.1:40007")
        for node in layout.nodes {
            let properties = try PropertiesFile.parse(layout.properties(of: node))
            let configuration = try BrokerConfiguration(properties: properties)
            #expect(configuration.processRoles == [.broker, .controller])
            #expect(configuration.nodeID == node.id)
            #expect(configuration.quorumVoters.map(\.nodeID) == [1, 2, 3])
            #expect(configuration.logDirs == ["/tmp/c/node\(node.id)/data"])
            #expect(configuration.controllerListeners.map(\.port) == [node.controllerPort])
            try KRaftStartupCheck.checkQuorum(configuration)
        }
    }

    /// Separate roles: controllers 1...3 are the voters on their controller listener only; brokers 4 and 5 have a
    /// broker listener only, name the same voters and are not among them; the bootstrap list holds the brokers only.
    @Test func separateRolesAreControllerVotersAndBrokerObservers() throws {
        let shape = DevClusterLayout.Shape.separate(controllers: 3, brokers: 2)
        #expect(shape.portCount == 10)
        let layout = DevClusterLayout(directory: "/tmp/c", shape: shape, ports: Array(40_001...40_010))
        #expect(layout.nodes.map(\.id) == [1, 2, 3, 4, 5])
        #expect(layout.voters == "1@127.0.0.1:40001,2@127.0.0.1:40003,3@127.0.0.1:40005")
        #expect(layout.bootstrapServers == "127.0.0.1:40007,127.0.0.1:40009")
        #expect(layout.bootstrapControllers == "127.0.0.1:40001,127.0.0.1:40003,127.0.0.1:40005")
        for node in layout.nodes {
            let configuration = try BrokerConfiguration(
                properties: try PropertiesFile.parse(layout.properties(of: node)))
            #expect(configuration.nodeID == node.id)
            #expect(configuration.quorumVoters.map(\.nodeID) == [1, 2, 3])
            if node.id <= 3 {
                #expect(configuration.processRoles == [.controller])
                #expect(configuration.listeners.map(\.name) == ["CONTROLLER"])
                #expect(node.brokerPort == nil && node.bootstrap == nil)
            } else {
                #expect(configuration.processRoles == [.broker])
                #expect(configuration.listeners.map(\.name) == ["PLAINTEXT"])
                #expect(node.controllerPort == nil && node.controllerAddress == nil)
            }
            try KRaftStartupCheck.checkQuorum(configuration)
        }
    }

    @Test func stateRoundTripsAndRejectsIncompleteFiles() throws {
        for shape in [DevClusterLayout.Shape.combined(nodes: 3), .separate(controllers: 3, brokers: 2)] {
            let state = DevClusterLayout.State(clusterID: "Q2mB3TtFRWKl0c5vd1yWFA", shape: shape)
            #expect(DevClusterLayout.State(parsing: try PropertiesFile.parse(state.rendered)) == state)
        }
        for text in [
            "cluster.id=x\n", "cluster.id=x\nnodes=0\n", "cluster.id=x\ncontrollers=3\n",
            "cluster.id=x\nnodes=3\ncontrollers=3\nbrokers=2\n", "cluster.id=x\ncontrollers=3\nbrokers=-1\n",
        ] {
            #expect(DevClusterLayout.State(parsing: try PropertiesFile.parse(text)) == nil, "\(text)")
        }
    }
}
