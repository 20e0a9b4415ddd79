import FjordStorage
import KafkaProtocol

/// What a node with `process.roles` set checks before it opens its logs: that `fjord storage format` prepared every
/// directory (Kafka refuses to start otherwise, with the same messages), and that its place in the quorum is one it
/// can take: a controller a voter, a broker-only node an observer that knows the voters (`checkQuorum`).
enum KRaftStartupCheck {
    /// The folder of the metadata partition in the metadata log directory.
    static func metadataPartitionDirectory(_ configuration: BrokerConfiguration) -> String {
        configuration.metadataLogDir + "/__cluster_metadata-0"
    }

    /// Loads `meta.properties` from every log directory and the metadata directory, checking them as Kafka's
    /// `MetaPropertiesEnsemble.verify` and `KafkaRaftServer.initializeLogDirs` do: at least one readable, none
    /// missing, all of one cluster and of this node.
    static func loadFormattedDirectories(_ configuration: BrokerConfiguration) throws -> MetaProperties {
        let directories = Array(Set(configuration.logDirs + [configuration.metadataLogDir])).sorted()
        var found = [(directory: String, meta: MetaProperties)]()
        for directory in directories {
            if let meta = try MetaProperties.load(directory: directory) { found.append((directory, meta)) }
        }
        guard let first = found.first else {
            throw ConfigurationError(
                key: nil,
                "No readable meta.properties files found. A node with process.roles set must be formatted first: "
                    + "fjord storage format --cluster-id $(fjord storage random-uuid) --config <file>")
        }
        for (directory, meta) in found {
            let path = directory + "/" + MetaProperties.fileName
            guard meta.clusterID == first.meta.clusterID else {
                throw ConfigurationError(
                    key: "log.dirs",
                    "Invalid cluster.id in: \(path). Expected \(first.meta.clusterID), but read \(meta.clusterID)")
            }
            guard meta.nodeID == configuration.nodeID else {
                throw ConfigurationError(
                    key: "node.id",
                    "Stored node id \(meta.nodeID) doesn't match previous node id \(configuration.nodeID) in \(path). "
                        + "If you moved your data, make sure your configured node id matches. If you intend to create "
                        + "a new node, you should remove all data in your data directories.")
            }
        }
        for directory in directories where !found.contains(where: { $0.directory == directory }) {
            throw ConfigurationError(
                key: nil,
                "No `meta.properties` found in \(directory) (have you run `fjord storage format` to format the "
                    + "directory?)")
        }
        return first.meta
    }

    /// Removes the snapshot files a crash left half-written (Kafka does this when it opens the metadata log).
    static func removeIncompleteSnapshots(_ configuration: BrokerConfiguration) throws {
        try RaftSnapshotFile.removeIncomplete(in: metadataPartitionDirectory(configuration))
    }

    /// Checks the node's place in its quorum as Kafka's `KafkaRaftServer` and `RaftManager` need it: a node with the
    /// controller role (controller-only or combined) is a voter — named statically (`controller.quorum.voters`) or
    /// in the voter set `fjord storage format --standalone` / `--initial-controllers` wrote into the bootstrap
    /// snapshot; a broker-only node is an observer, never a voter (it finds the voters from the static list, the
    /// voter set of its bootstrap snapshot, or by asking `controller.quorum.bootstrap.servers`). Joining a dynamic
    /// quorum as a new voter (`--no-initial-controllers`, then AddRaftVoter) is refused with a message that says
    /// what to do instead.
    static func checkQuorum(_ configuration: BrokerConfiguration) throws {
        let nodeID = configuration.nodeID
        let isController = configuration.processRoles.contains(.controller)
        let voterIDs: [Int32]
        if !configuration.quorumVoters.isEmpty {
            voterIDs = configuration.quorumVoters.map(\.nodeID)
        } else if let bootstrap = try bootstrapVoterIDs(configuration) {
            voterIDs = bootstrap
        } else if isController {
            throw ConfigurationError(
                key: "controller.quorum.bootstrap.servers",
                "\(metadataPartitionDirectory(configuration)) holds no voter set (formatted with "
                    + "--no-initial-controllers, to join an existing quorum): joining a quorum as a new voter is not "
                    + "supported yet; format with --standalone or --initial-controllers, or list "
                    + "controller.quorum.voters")
        } else {
            // A broker-only node with only controller.quorum.bootstrap.servers (Kafka's sample broker.properties):
            // it asks them for the voters at start-up (`Broker.discoverVoters`).
            return
        }
        if isController {
            guard voterIDs.contains(nodeID) else {
                throw ConfigurationError(
                    key: "controller.quorum.voters",
                    "the quorum has voters \(voterIDs.sorted()) and this controller, \(nodeID), is not one of them: "
                        + "a controller that is not a voter (to be added with AddRaftVoter) is not supported yet")
            }
        } else {
            guard !voterIDs.contains(nodeID) else {
                throw ConfigurationError(
                    key: "node.id",
                    "If process.roles contains just the 'broker' role, the node id \(nodeID) must not be included in "
                        + "the set of voters \(voterIDs.sorted())")
            }
        }
    }

    /// The voter ids of the latest snapshot in the metadata partition (the bootstrap snapshot of a node formatted
    /// for a dynamic quorum); nil when it holds no voter set.
    private static func bootstrapVoterIDs(_ configuration: BrokerConfiguration) throws -> [Int32]? {
        let directory = metadataPartitionDirectory(configuration)
        guard let latest = try RaftSnapshotFile.list(in: directory).last,
            let voters = try RaftSnapshotFile.read(latest, in: directory)?.voters
        else { return nil }
        return voters.voters.map(\.voterID)
    }
}
