import FjordBroker
import FjordController
import FjordStorage
import Foundation
import KafkaProtocol

/// `fjord storage format`: prepares a KRaft node's directories as Kafka's `kafka-storage.sh format` (its
/// `Formatter`) does, with its rules and messages.
///
/// Every directory of `log.dirs` and `metadata.log.dir` that has no `meta.properties` gets, in this order (so that
/// `meta.properties`, written last, marks a directory complete):
/// 1. `bootstrap.checkpoint` with the `metadata.version` `FeatureLevelRecord` and the `--add-scram` credentials
///    (`UserScramCredentialRecord`s) (`BootstrapMetadataFile`);
/// 2. in the metadata directory, for a dynamic quorum (`--standalone`, `--initial-controllers`), the bootstrap
///    snapshot `__cluster_metadata-0/00000000000000000000-0000000000.checkpoint` with the `KRaftVersionRecord`
///    (kraft.version 1) and the `VotersRecord` (`RaftSnapshotFile`);
/// 3. `meta.properties` (version 1, the cluster id, the node id, a directory id: the one `--initial-controllers`
///    lists for this node in its metadata directory, else a random one).
///
/// A directory that already has `meta.properties` is refused unless `--ignore-formatted` is given, and it is then
/// only checked (same cluster, same node) and left alone.
struct StorageFormatter {
    /// How the format command was told to set up the quorum.
    enum QuorumSetup: Hashable, Sendable {
        /// Neither option: fine with static `controller.quorum.voters`, and for a broker-only node.
        case unspecified
        /// `--no-initial-controllers`: a controller that will join an existing dynamic quorum.
        case noInitialControllers
        /// `--standalone`: this controller alone is the initial dynamic quorum.
        case standalone
        /// `--initial-controllers id@host:port:directoryID,...`.
        case initialControllers(StorageInitialControllers)
    }

    var configuration: BrokerConfiguration
    var clusterID: String
    var quorumSetup: QuorumSetup = .unspecified
    var ignoreFormatted = false
    var releaseVersion: String?
    /// `--add-scram`: credentials the active controller writes with the bootstrap metadata.version.
    var scramCredentials: [StorageScramArgument] = []
    /// Milliseconds since the epoch, stamped on the checkpoint records.
    var now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)

    /// Formats the directories; each line of progress is passed to `print`.
    func run(print: (String) -> Void) throws {
        let setup = try validate()
        let directories = Array(Set(configuration.logDirs + [configuration.metadataLogDir])).sorted()
        var empty = [String]()
        for directory in directories {
            let existing: MetaProperties?
            do {
                existing = try MetaProperties.load(directory: directory)
            } catch {
                throw CLIError("cannot read \(directory)/meta.properties: \(error)")
            }
            guard let existing else {
                empty.append(directory)
                continue
            }
            try check(existing, in: directory)
            guard ignoreFormatted else {
                throw CLIError(
                    "Log directory \(directory) is already formatted. Use --ignore-formatted to ignore this directory "
                        + "and format the others.")
            }
        }
        guard !empty.isEmpty else {
            print("All of the log directories are already formatted.")
            return
        }
        for directory in empty { try format(directory, setup: setup, print: print) }
    }

    /// What `validate()` settled: the metadata version and the initial voters, if the quorum is dynamic.
    struct Setup {
        var release: StorageReleaseVersion
        var voters: StorageInitialControllers?
        var controllerListenerName: String
    }

    /// Kafka's checks before anything is written (`StorageTool.runFormatCommand`, `Formatter.run`).
    func validate() throws -> Setup {
        guard configuration.isKRaftMode else {
            throw CLIError(
                "The configuration file does not set process.roles: formatting is only for KRaft mode",
                hint: "a node without process.roles (today's single node) needs no format step")
        }
        guard MetaProperties.isValidClusterID(clusterID) else {
            throw CLIError(
                "Cluster ID string \(clusterID) does not appear to be a valid UUID: a cluster id is 16 bytes in "
                    + "URL-safe base64 (22 characters)",
                hint: "make one with `fjord storage random-uuid`")
        }
        let isController = configuration.processRoles.contains(.controller)
        let voters: StorageInitialControllers?
        switch quorumSetup {
        case .standalone: voters = try standaloneVoters()
        case .initialControllers(let list): voters = list
        case .noInitialControllers, .unspecified: voters = nil
        }
        if voters != nil, !configuration.quorumVoters.isEmpty {
            throw CLIError(
                "controller.quorum.voters sets a static quorum; --standalone and --initial-controllers set up a "
                    + "dynamic one", hint: "use controller.quorum.bootstrap.servers instead, or drop the option")
        }
        if quorumSetup == .unspecified, isController, configuration.quorumVoters.isEmpty {
            throw CLIError(
                "Because controller.quorum.voters is not set on this controller, you must specify one of the "
                    + "following: --standalone, --initial-controllers, or --no-initial-controllers.")
        }
        let release = try resolveRelease()
        if voters != nil, release.featureLevel < StorageReleaseVersion.firstDynamicQuorum.featureLevel {
            throw CLIError(
                "kraft.version could not be set to 1 because it depends on metadata.version level "
                    + "\(StorageReleaseVersion.firstDynamicQuorum.featureLevel) "
                    + "(\(StorageReleaseVersion.firstDynamicQuorum)); --release-version \(release) is older")
        }
        return Setup(
            release: release, voters: voters, controllerListenerName: configuration.controllerListenerNames[0])
    }

    private func resolveRelease() throws -> StorageReleaseVersion {
        guard let releaseVersion else { return .latestProduction }
        guard let release = StorageReleaseVersion(parsing: releaseVersion) else {
            throw CLIError(
                "Unknown release version '\(releaseVersion)'. Supported versions are: "
                    + "\(StorageReleaseVersion.all.first!) to \(StorageReleaseVersion.latestProduction)")
        }
        return release
    }

    /// `--standalone`: this node, on its first advertised controller listener (`localhost` for a wildcard host),
    /// with a new directory id (Kafka's `createStandaloneDynamicVoters`).
    private func standaloneVoters() throws -> StorageInitialControllers {
        guard configuration.processRoles.contains(.controller) else {
            throw CLIError("You can only use --standalone on a controller.")
        }
        let name = configuration.controllerListenerNames[0]
        let advertised = configuration.advertisedListenersOverride?.first { $0.name == name }
        guard let listener = advertised ?? configuration.controllerListeners.first else {
            throw CLIError("No controller listeners found.")
        }
        let host =
            listener.host.isEmpty || listener.host == "0.0.0.0" || listener.host == "::" ? "localhost" : listener.host
        return StorageInitialControllers(voters: [
            .init(nodeID: configuration.nodeID, host: host, port: listener.port, directoryID: .randomIdentifier())
        ])
    }

    /// A directory formatted before must belong to this cluster and node (Kafka's `MetaPropertiesEnsemble.verify`).
    private func check(_ existing: MetaProperties, in directory: String) throws {
        let path = directory + "/" + MetaProperties.fileName
        guard existing.clusterID == clusterID else {
            throw CLIError("Invalid cluster.id in: \(path). Expected \(clusterID), but read \(existing.clusterID)")
        }
        guard existing.nodeID == configuration.nodeID else {
            throw CLIError(
                "Stored node id \(existing.nodeID) doesn't match previous node id \(configuration.nodeID) in \(path). "
                    + "If you moved your data, make sure your configured node id matches. If you intend to create a "
                    + "new node, you should remove all data in your data directories.")
        }
    }

    /// Writes one directory: bootstrap metadata, the bootstrap snapshot (dynamic quorum, metadata directory), then
    /// `meta.properties`.
    private func format(_ directory: String, setup: Setup, print: (String) -> Void) throws {
        let isMetadata = directory == configuration.metadataLogDir
        let ownVoter = setup.voters?.voters.first { $0.nodeID == configuration.nodeID }
        let description: String
        switch (isMetadata, setup.voters, ownVoter) {
        case (false, _, _): description = "data directory"
        case (true, nil, _): description = "metadata directory"
        case (true, _?, nil): description = "dynamic metadata directory"
        case (true, _?, _?): description = "dynamic metadata voter directory"
        }
        print("Formatting \(description) \(directory) with metadata.version \(setup.release).")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let scram = ScramControl.bootstrapRecords(scramCredentials.map { ($0.user, $0.credential) })
            let bootstrap = BootstrapMetadataFile(
                features: [FeatureLevelRecord(name: "metadata.version", featureLevel: setup.release.featureLevel)],
                otherRecords: scram.map { $0.encoded() })
            try bootstrap.write(to: directory, timestamp: now)
            if isMetadata, let voters = setup.voters {
                let snapshot = KRaftCheckpoint(
                    lastContainedLogTimestamp: now, kraftVersion: KRaftVersionRecord(version: 0, kRaftVersion: 1),
                    voters: voters.votersRecord(listenerName: setup.controllerListenerName))
                try RaftSnapshotFile.write(
                    snapshot, id: .bootstrap, in: directory + "/__cluster_metadata-0", timestamp: now)
            }
            let directoryID = isMetadata ? ownVoter?.directoryID ?? .randomIdentifier() : .randomIdentifier()
            try MetaProperties(clusterID: clusterID, nodeID: configuration.nodeID, directoryID: directoryID.description)
                .write(to: directory)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("Error while formatting \(directory): \(error)")
        }
    }
}
