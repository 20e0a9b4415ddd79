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

    @Test func stateRoundTripsAndRejectsIncompleteFiles() throws {
        let state = DevClusterLayout.State(clusterID: "Q2mB3TtFRWKl0c5vd1yWFA", nodeCount: 3)
        #expect(DevClusterLayout.State(parsing: try PropertiesFile.parse(state.rendered)) == state)
        #expect(DevClusterLayout.State(parsing: try PropertiesFile.parse("cluster.id=x\n")) == nil)
        #expect(DevClusterLayout.State(parsing: try PropertiesFile.parse("cluster.id=x\nnodes=0\n")) == nil)
    }
}
