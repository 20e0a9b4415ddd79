import FjordBroker
import Foundation

/// `fjord storage info`: the directories of a node and what their `meta.properties` say, printed as
/// `kafka-storage.sh info` prints them, with the problems it reports (missing or unformatted directories, cluster
/// or node ids that disagree). Any problem makes the command exit with status 1.
enum StorageInfo {
    struct Report {
        var output: String
        var problems: [String]
    }

    static func report(configuration: BrokerConfiguration) -> Report {
        let directories = Array(Set(configuration.logDirs + [configuration.metadataLogDir])).sorted()
        var problems = [String]()
        var found = [String]()
        var first: MetaProperties?
        for directory in directories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
                problems.append("\(directory) does not exist")
                continue
            }
            guard isDirectory.boolValue else {
                problems.append("\(directory) is not a directory")
                continue
            }
            found.append(directory)
            do {
                guard let meta = try MetaProperties.load(directory: directory) else {
                    problems.append("\(directory) is not formatted.")
                    continue
                }
                if let first, first.clusterID != meta.clusterID {
                    problems.append("Mismatched cluster IDs between storage directories.")
                } else if let first, first.nodeID != meta.nodeID {
                    problems.append("Mismatched node IDs between storage directories.")
                }
                first = first ?? meta
            } catch {
                problems.append("Error loading \(directory)/\(MetaProperties.fileName): \(error)")
            }
        }
        var output = ""
        if !found.isEmpty {
            output += found.count == 1 ? "Found log directory:\n" : "Found log directories:\n"
            output += found.map { "  \($0)\n" }.joined() + "\n"
        }
        if let first {
            output +=
                "Found metadata: {cluster.id=\(first.clusterID), directory.id=\(first.directoryID), "
                + "node.id=\(first.nodeID), version=1}\n\n"
        }
        if !problems.isEmpty {
            output += problems.count == 1 ? "Found problem:\n" : "Found problems:\n"
            output += problems.map { "  \($0)\n" }.joined() + "\n"
        }
        return Report(output: output, problems: problems)
    }
}
