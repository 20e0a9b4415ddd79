import FjordStorage
import Foundation
import KafkaProtocol
import Logging
import Testing

@testable import FjordBroker

/// A node with `process.roles` set starts only from formatted directories, a controller as a voter of its quorum and a
/// broker-only node as an observer that knows the voters.
@Suite struct KRaftStartupCheckTests {
    private let clusterID = "MkU3OEVBNTcwNTJENDM2Qg"

    private func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("fjord-startup-\(UUID().uuidString)").path
    }

    private func configuration(_ root: String, _ quorum: String, roles: String = "broker,controller") throws
        -> BrokerConfiguration
    {
        let listeners =
            switch roles {
            case "broker": "listeners=PLAINTEXT://127.0.0.1:0"
            case "controller": "listeners=CONTROLLER://127.0.0.1:0"
            default: "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"
            }
        let text = """
            process.roles=\(roles)
            node.id=1
            \(quorum)
            \(listeners)
            controller.listener.names=CONTROLLER
            log.dirs=\(root)/a,\(root)/b
            metrics.listener=none
            """
        return try BrokerConfiguration(properties: try PropertiesFile.parse(text))
    }

    /// Writes what `fjord storage format` writes that the check reads: meta.properties, and a voter set.
    private func format(_ root: String, directories: [String] = ["a", "b"], nodeID: NodeID = 1, voters: [Int32]? = nil)
        throws
    {
        for name in directories {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            try MetaProperties(
                clusterID: clusterID, nodeID: nodeID, directoryID: KafkaUUID.randomIdentifier().description
            )
            .write(to: "\(root)/\(name)")
        }
        if let voters {
            let record = VotersRecord(voters: voters.map { VotersRecord.Voter(voterID: $0) })
            let checkpoint = KRaftCheckpoint(
                lastContainedLogTimestamp: 0, kraftVersion: KRaftVersionRecord(kRaftVersion: 1), voters: record)
            try RaftSnapshotFile.write(checkpoint, id: .bootstrap, in: "\(root)/a/__cluster_metadata-0", timestamp: 0)
        }
    }

    private func failure(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func anUnformattedNodeFailsWithKafkasMessage() async throws {
        let root = folder()
        let broker = Broker(
            configuration: try configuration(root, "controller.quorum.voters=1@127.0.0.1:9093"),
            logger: Logger(label: "test"))
        do {
            try await broker.run()
            Issue.record("an unformatted node started")
        } catch {
            #expect("\(error)".contains("No readable meta.properties files found."))
            #expect("\(error)".contains("fjord storage format"))
        }
        #expect(!FileManager.default.fileExists(atPath: "\(root)/a/meta.properties"))
    }

    @Test func everyDirectoryMustBeFormattedForThisNodeAndCluster() throws {
        let root = folder()
        let configuration = try configuration(root, "controller.quorum.voters=1@127.0.0.1:9093")
        try format(root, directories: ["a"])
        #expect(
            failure { _ = try KRaftStartupCheck.loadFormattedDirectories(configuration) }
                .contains("No `meta.properties` found in \(root)/b (have you run `fjord storage format`"))
        try format(root, directories: ["b"], nodeID: 2)
        #expect(
            failure { _ = try KRaftStartupCheck.loadFormattedDirectories(configuration) }.contains("Stored node id 2"))
        try format(root)
        #expect(try KRaftStartupCheck.loadFormattedDirectories(configuration).clusterID == clusterID)
        try MetaProperties(clusterID: "AAAAAAAAAAAAAAAAAAAAAQ", nodeID: 1, directoryID: "x").write(to: "\(root)/b")
        #expect(
            failure { _ = try KRaftStartupCheck.loadFormattedDirectories(configuration) }.contains("Invalid cluster.id")
        )
    }

    @Test func combinedVotersStart() throws {
        let root = folder()
        try format(root)
        #expect(
            failure { try KRaftStartupCheck.checkQuorum(try configuration(root, "controller.quorum.voters=1@h:9093")) }
                == "no error")
        #expect(
            failure {
                try KRaftStartupCheck.checkQuorum(try configuration(root, "controller.quorum.voters=1@h:9093,2@h:9094"))
            } == "no error")
    }

    /// Kafka's roles: a controller-only node is a voter, a broker-only node an observer (never a voter).
    @Test func controllerOnlyVotersAndBrokerOnlyObserversStart() throws {
        let root = folder()
        try format(root)
        func check(_ quorum: String, roles: String) -> String {
            failure { try KRaftStartupCheck.checkQuorum(try configuration(root, quorum, roles: roles)) }
        }
        #expect(check("controller.quorum.voters=1@h:9093,2@h:9094,3@h:9095", roles: "controller") == "no error")
        #expect(check("controller.quorum.voters=2@h:9093,3@h:9094", roles: "broker") == "no error")
        #expect(check("controller.quorum.voters=2@h:9093", roles: "controller").contains("must be included"))
        #expect(check("controller.quorum.voters=1@h:9093", roles: "broker").contains("must not be included"))
    }

    /// Flow: 1. a dynamic quorum without a bootstrap snapshot (--no-initial-controllers) fails for a controller, not
    /// for a broker (it asks the bootstrap servers); 2. with a snapshot naming other voters it fails for a controller and passes for a broker; 3. with one naming this node among others, or alone, it passes; 4. a leftover
    /// `.part` file is removed.
    @Test func aDynamicQuorumIsReadFromTheBootstrapSnapshot() throws {
        let root = folder()
        let configuration = try configuration(root, "controller.quorum.bootstrap.servers=127.0.0.1:9093")
        try format(root)
        #expect(failure { try KRaftStartupCheck.checkQuorum(configuration) }.contains("holds no voter set"))
        let broker = try self.configuration(
            root, "controller.quorum.bootstrap.servers=127.0.0.1:9093", roles: "broker")
        // A broker-only node asks its bootstrap servers for the voters at start-up.
        try KRaftStartupCheck.checkQuorum(broker)
        try format(root, voters: [2, 3])
        #expect(failure { try KRaftStartupCheck.checkQuorum(configuration) }.contains("is not one of them"))
        try KRaftStartupCheck.checkQuorum(broker)
        try format(root, voters: [1, 2])
        try KRaftStartupCheck.checkQuorum(configuration)
        try format(root, voters: [1])
        try KRaftStartupCheck.checkQuorum(configuration)
        let partial = "\(root)/a/__cluster_metadata-0/00000000000000000007-0000000001-99.checkpoint.part"
        FileManager.default.createFile(atPath: partial, contents: Data([0]))
        try KRaftStartupCheck.removeIncompleteSnapshots(configuration)
        #expect(!FileManager.default.fileExists(atPath: partial))
    }
}
