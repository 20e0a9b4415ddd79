import ArgumentParser
import FjordStorage
import Foundation

/// `fjord metadata`: tools for the cluster metadata log.
struct MetadataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata",
        abstract: "Inspect the cluster metadata log (__cluster_metadata) and its snapshots.",
        subcommands: [MetadataDumpCommand.self]
    )
}

/// `fjord metadata dump <path>...`: prints the metadata log's segments and snapshot (checkpoint) files as records,
/// as Kafka's `kafka-dump-log --cluster-metadata-decoder` does.
struct MetadataDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the records of __cluster_metadata segments (.log) and snapshots (.checkpoint).",
        discussion: """
            A folder stands for its snapshots, then its segments, in offset order. Exits with status 1 when a file
            does not check out (a bad CRC, a record that does not decode).

            Example:
              fjord metadata dump fjord-data/__cluster_metadata-0
              fjord metadata dump fjord-data/__cluster_metadata-0/00000000000000000000.log
            """
    )

    @Argument(help: "Metadata log folders, segment files (.log) or snapshot files (.checkpoint).")
    var paths: [String]

    func run() throws {
        var failed = false
        for path in try paths.flatMap(Self.files(at:)) {
            print("Dumping \(path)")
            do {
                let dump = try MetadataDumpFormatter.dump(file: path)
                print(dump.output, terminator: "")
                failed = failed || dump.hasProblems
            } catch {
                print("\(path): \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// The files a path stands for: itself, or a folder's snapshots then segments, each in name (offset) order.
    static func files(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or folder")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        let snapshots = names.filter { $0.hasSuffix(RaftSnapshotFile.suffix) }
        let segments = names.filter { $0.hasSuffix(".log") }
        return (snapshots + segments).map { path + "/" + $0 }
    }
}
