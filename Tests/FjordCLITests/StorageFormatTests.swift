import FjordBroker
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import Testing

@testable import fjord

/// `fjord storage format`, `random-uuid` and `info`: the files kafka-storage.sh writes, where it writes them, and its
/// refusals, run through the command's own code (`StorageFormatter`, `StorageInfo`).
@Suite struct StorageFormatTests {
    private let clusterID = "MkU3OEVBNTcwNTJENDM2Qg"

    private func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("fjord-format-\(UUID().uuidString)").path
    }

    private func configuration(_ root: String, _ extra: String = "", roles: String = "broker,controller")
        throws -> BrokerConfiguration
    {
        let text = """
            process.roles=\(roles)
            node.id=1
            controller.quorum.bootstrap.servers=localhost:9093
            listeners=PLAINTEXT://127.0.0.1:9092\(roles == "broker" ? "" : ",CONTROLLER://:9093")
            controller.listener.names=CONTROLLER
            log.dirs=\(root)/a,\(root)/b
            metadata.log.dir=\(root)/meta

            """
        return try BrokerConfiguration(properties: try PropertiesFile.parse(text + extra))
    }

    private func run(_ formatter: StorageFormatter) throws -> [String] {
        var lines = [String]()
        try formatter.run { lines.append($0) }
        return lines
    }

    @Test func randomUUIDsAreKafkaClusterIDs() {
        for _ in 0..<200 {
            let text = KafkaUUID.randomIdentifier().base64URLEncoded
            #expect(text.count == 22 && !text.hasPrefix("-"))
            #expect(MetaProperties.isValidClusterID(text))
            #expect(!KafkaUUID(base64URLEncoded: text)!.isReservedDirectoryID)
        }
    }

    /// Flow: 1. format a combined node with --standalone over two log dirs and a separate metadata dir; 2. every
    /// directory has meta.properties (same cluster and node, distinct directory ids) and bootstrap.checkpoint with
    /// metadata.version 25; 3. only the metadata dir has the bootstrap snapshot, holding kraft.version 1 and this
    /// node as the one voter on the controller listener, with the metadata dir's directory id.
    @Test func standaloneWritesKafkasFiles() throws {
        let root = folder()
        var formatter = StorageFormatter(configuration: try configuration(root), clusterID: clusterID)
        formatter.quorumSetup = .standalone
        let lines = try run(formatter)
        #expect(
            lines == [
                "Formatting data directory \(root)/a with metadata.version 4.0-IV3.",
                "Formatting data directory \(root)/b with metadata.version 4.0-IV3.",
                "Formatting dynamic metadata voter directory \(root)/meta with metadata.version 4.0-IV3.",
            ])
        var directoryIDs = Set<String>()
        for name in ["a", "b", "meta"] {
            let meta = try #require(try MetaProperties.load(directory: "\(root)/\(name)"))
            #expect(meta.clusterID == clusterID && meta.nodeID == 1)
            directoryIDs.insert(meta.directoryID)
            let bootstrap = try #require(try BootstrapMetadataFile.read(from: "\(root)/\(name)"))
            #expect(bootstrap.features == [FeatureLevelRecord(name: "metadata.version", featureLevel: 25)])
        }
        #expect(directoryIDs.count == 3)
        #expect(try RaftSnapshotFile.list(in: "\(root)/a/__cluster_metadata-0").isEmpty)
        let partition = "\(root)/meta/__cluster_metadata-0"
        #expect(try RaftSnapshotFile.list(in: partition) == [.bootstrap])
        let snapshot = try #require(try RaftSnapshotFile.read(.bootstrap, in: partition))
        #expect(snapshot.kraftVersion?.kRaftVersion == 1)
        #expect(snapshot.records.isEmpty)
        let voter = try #require(snapshot.voters?.voters.first)
        #expect(snapshot.voters?.voters.count == 1 && voter.voterID == 1)
        #expect(voter.endpoints.map { "\($0.name) \($0.host) \($0.port)" } == ["CONTROLLER localhost 9093"])
        #expect(
            voter.kRaftVersionFeature.minSupportedVersion == 0 && voter.kRaftVersionFeature.maxSupportedVersion == 1)
        let metaDirectoryID = try #require(try MetaProperties.load(directory: "\(root)/meta")).directoryID
        #expect(voter.voterDirectoryID.base64URLEncoded == metaDirectoryID)
    }

    @Test func initialControllersGiveEachVoterItsDirectoryID() throws {
        let root = folder()
        var formatter = StorageFormatter(configuration: try configuration(root), clusterID: clusterID)
        formatter.quorumSetup = .initialControllers(
            try StorageInitialControllers(
                parsing: "2@host2:9094:MvDxzVmcRsaTz33bUuRU6A,1@[::1]:9093:JEXY6aqzQY-32P5TStzaFg"))
        formatter.releaseVersion = "3.9"
        let lines = try run(formatter)
        #expect(lines.last == "Formatting dynamic metadata voter directory \(root)/meta with metadata.version 3.9-IV0.")
        #expect(try MetaProperties.load(directory: "\(root)/meta")?.directoryID == "JEXY6aqzQY-32P5TStzaFg")
        let voters = try #require(
            try RaftSnapshotFile.read(.bootstrap, in: "\(root)/meta/__cluster_metadata-0")?.voters)
        #expect(voters.voters.map(\.voterID) == [1, 2])
        #expect(voters.voters[0].endpoints[0].host == "::1")
        #expect(try BootstrapMetadataFile.read(from: "\(root)/meta")?.metadataVersionLevel == 21)
    }

    @Test func staticVotersNeedNoQuorumOptionAndWriteNoSnapshot() throws {
        let root = folder()
        let configuration = try configuration(root, "controller.quorum.voters=1@localhost:9093\n")
        let lines = try run(StorageFormatter(configuration: configuration, clusterID: clusterID))
        #expect(lines.last == "Formatting metadata directory \(root)/meta with metadata.version 4.0-IV3.")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/meta/__cluster_metadata-0"))
    }

    /// Flow: 1. format once; 2. formatting again is refused, naming the directory; 3. with --ignore-formatted it
    /// formats only the directory added since, and leaves the others' meta.properties as they were.
    @Test func formattedDirectoriesAreRefusedUnlessIgnored() throws {
        let root = folder()
        var formatter = StorageFormatter(configuration: try configuration(root), clusterID: clusterID)
        formatter.quorumSetup = .standalone
        _ = try run(formatter)
        let before = try String(contentsOfFile: "\(root)/a/meta.properties", encoding: .utf8)
        #expect(throws: CLIError.self) { try run(formatter) }
        do {
            _ = try run(formatter)
        } catch let error as CLIError {
            #expect(error.message.contains("Log directory \(root)/a is already formatted. Use --ignore-formatted"))
        }
        formatter.ignoreFormatted = true
        #expect(try run(formatter) == ["All of the log directories are already formatted."])
        formatter.configuration = try configuration(root, "log.dirs=\(root)/a,\(root)/b,\(root)/c\n")
        #expect(try run(formatter) == ["Formatting data directory \(root)/c with metadata.version 4.0-IV3."])
        #expect(try String(contentsOfFile: "\(root)/a/meta.properties", encoding: .utf8) == before)
        // A directory of another cluster is not "formatted": it is wrong.
        formatter.clusterID = KafkaUUID.randomIdentifier().base64URLEncoded
        #expect(throws: CLIError.self) { try run(formatter) }
    }

    /// Each row: how the formatter is set up, and a phrase of the refusal; nothing is written for any of them.
    @Test(arguments: [
        ("cluster", "does not appear to be a valid UUID"),
        ("no-option", "you must specify one of the following: --standalone, --initial-controllers"),
        ("standalone-broker", "You can only use --standalone on a controller."),
        ("static-and-standalone", "controller.quorum.voters sets a static quorum"),
        ("old-release", "kraft.version could not be set to 1 because it depends on metadata.version level 21"),
        ("unknown-release", "Unknown release version '2.8'"),
        ("no-roles", "does not set process.roles"),
    ])
    func refusals(setup: String, message: String) throws {
        let root = folder()
        var formatter = StorageFormatter(configuration: try configuration(root), clusterID: clusterID)
        switch setup {
        case "cluster":
            formatter.clusterID = "not-a-uuid"
            formatter.quorumSetup = .standalone
        case "no-option": break
        case "standalone-broker":
            formatter.configuration = try configuration(root, roles: "broker")
            formatter.quorumSetup = .standalone
        case "static-and-standalone":
            formatter.configuration = try configuration(root, "controller.quorum.voters=1@localhost:9093\n")
            formatter.quorumSetup = .standalone
        case "old-release":
            formatter.quorumSetup = .standalone
            formatter.releaseVersion = "3.8"
        case "unknown-release":
            formatter.quorumSetup = .standalone
            formatter.releaseVersion = "2.8"
        default:
            formatter.configuration = try BrokerConfiguration(properties: [("log.dirs", root + "/a")])
        }
        do {
            _ = try run(formatter)
            Issue.record("\(setup) was formatted")
        } catch let error as CLIError {
            #expect(error.description.contains(message), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/a/meta.properties"))
    }

    @Test(arguments: [
        ("1-host:9093:JEXY6aqzQY-32P5TStzaFg", "No @ found"),
        ("@host:9093:JEXY6aqzQY-32P5TStzaFg", "Invalid @ at beginning"),
        ("x@host:9093:JEXY6aqzQY-32P5TStzaFg", "Failed to parse node id"),
        ("-1@host:9093:JEXY6aqzQY-32P5TStzaFg", "Invalid negative node id -1"),
        ("1@", "No hostname found"),
        ("1@[::1:9093:JEXY6aqzQY-32P5TStzaFg", "no right bracket"),
        ("1@host", "No colon following hostname"),
        ("1@host:9093", "No colon following port"),
        ("1@host:port:JEXY6aqzQY-32P5TStzaFg", "Failed to parse port"),
        ("1@host:70000:JEXY6aqzQY-32P5TStzaFg", "Invalid port 70000"),
        ("1@host:9093:nope", "Failed to parse directory ID"),
        ("1@a:1:JEXY6aqzQY-32P5TStzaFg,1@b:2:MvDxzVmcRsaTz33bUuRU6A", "Node id 1 was specified more than once."),
        (",", "No voters given."),
    ])
    func initialControllersAreParsedAsKafkaParsesThem(text: String, message: String) {
        do {
            _ = try StorageInitialControllers(parsing: text)
            Issue.record("'\(text)' was accepted")
        } catch {
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func releaseVersionsAreKafkas() {
        #expect(StorageReleaseVersion(parsing: "4.0")?.featureLevel == 25)
        #expect(StorageReleaseVersion(parsing: "3.9.1")?.name == "3.9-IV0")
        #expect(StorageReleaseVersion(parsing: "3.7-IV2")?.featureLevel == 17)
        #expect(StorageReleaseVersion(parsing: "3.7")?.name == "3.7-IV4")
        #expect(StorageReleaseVersion(parsing: "3.2") == nil)
        #expect(StorageReleaseVersion(parsing: "4.1") == nil)
    }

    @Test func infoReportsFormattedAndUnformattedDirectories() throws {
        let root = folder()
        let configuration = try configuration(root)
        var report = StorageInfo.report(configuration: configuration)
        #expect(
            report.problems == ["\(root)/a does not exist", "\(root)/b does not exist", "\(root)/meta does not exist"])
        var formatter = StorageFormatter(configuration: configuration, clusterID: clusterID)
        formatter.quorumSetup = .standalone
        _ = try run(formatter)
        report = StorageInfo.report(configuration: configuration)
        #expect(report.problems.isEmpty)
        #expect(report.output.hasPrefix("Found log directories:\n  \(root)/a\n  \(root)/b\n  \(root)/meta\n\n"))
        #expect(report.output.contains("Found metadata: {cluster.id=\(clusterID), directory.id="))
        try FileManager.default.removeItem(atPath: "\(root)/b/meta.properties")
        report = StorageInfo.report(configuration: configuration)
        #expect(report.problems == ["\(root)/b is not formatted."])
        #expect(report.output.contains("Found problem:\n  \(root)/b is not formatted.\n"))
    }
}
