import FjordStorage
import Foundation
import KafkaProtocol

/// The KIP-853 voters `fjord storage format --initial-controllers` takes, as `kafka-storage.sh` does:
/// `id@host:port:directoryID,...` (IPv6 hosts in brackets), each id once. The same list formats every controller;
/// each controller's metadata directory takes the directory id listed for it.
struct StorageInitialControllers: Hashable, Sendable {
    /// One initial voter.
    struct Voter: Hashable, Sendable {
        var nodeID: NodeID
        var host: String
        var port: Int
        var directoryID: KafkaUUID
    }

    /// The voters, by node id.
    var voters: [Voter]

    init(voters: [Voter]) {
        self.voters = voters.sorted { $0.nodeID < $1.nodeID }
    }

    /// Parses the list with Kafka's messages (`DynamicVoters.parse`, `DynamicVoter.parse`).
    init(parsing text: String) throws(CLIError) {
        var voters = [Voter]()
        for entry in text.split(separator: ",") where !entry.isEmpty {
            let voter = try Self.parseVoter(String(entry))
            guard !voters.contains(where: { $0.nodeID == voter.nodeID }) else {
                throw CLIError("Node id \(voter.nodeID) was specified more than once.")
            }
            voters.append(voter)
        }
        guard !voters.isEmpty else { throw CLIError("No voters given.") }
        self.init(voters: voters)
    }

    /// The `VotersRecord` of the bootstrap snapshot: each voter with its directory id, one endpoint on the
    /// controller listener `listenerName`, and kraft.version support 0...1 (Kafka's `DynamicVoter.toVoterNode`).
    func votersRecord(listenerName: String) -> VotersRecord {
        VotersRecord(
            version: 0,
            voters: voters.map { voter in
                VotersRecord.Voter(
                    voterID: voter.nodeID, voterDirectoryID: voter.directoryID,
                    endpoints: [.init(name: listenerName, host: voter.host, port: UInt16(voter.port))],
                    kRaftVersionFeature: .init(minSupportedVersion: 0, maxSupportedVersion: 1))
            })
    }

    private static func parseVoter(_ entry: String) throws(CLIError) -> Voter {
        var input = Substring(entry.trimmingCharacters(in: .whitespaces))
        guard let at = input.firstIndex(of: "@") else { throw CLIError("No @ found in dynamic voter string.") }
        guard at != input.startIndex else { throw CLIError("Invalid @ at beginning of dynamic voter string.") }
        guard let nodeID = Int32(input[..<at]) else {
            throw CLIError("Failed to parse node id in dynamic voter string.")
        }
        guard nodeID >= 0 else { throw CLIError("Invalid negative node id \(nodeID) in dynamic voter string.") }
        input = input[input.index(after: at)...]
        guard !input.isEmpty else { throw CLIError("No hostname found after node id.") }
        let host: Substring
        if input.hasPrefix("[") {
            guard let close = input.firstIndex(of: "]") else {
                throw CLIError("Hostname began with left bracket, but no right bracket was found.")
            }
            host = input[input.index(after: input.startIndex)..<close]
            input = input[input.index(after: close)...]
        } else {
            guard let colon = input.firstIndex(of: ":") else {
                throw CLIError("No colon following hostname could be found.")
            }
            host = input[..<colon]
            input = input[colon...]
        }
        guard input.hasPrefix(":") else { throw CLIError("Port section must start with a colon.") }
        input = input.dropFirst()
        guard let colon = input.firstIndex(of: ":") else { throw CLIError("No colon following port could be found.") }
        guard let port = Int(input[..<colon]) else { throw CLIError("Failed to parse port in dynamic voter string.") }
        guard (0...65535).contains(port) else { throw CLIError("Invalid port \(port) in dynamic voter string.") }
        guard let directoryID = KafkaUUID(base64URLEncoded: String(input[input.index(after: colon)...])) else {
            throw CLIError("Failed to parse directory ID in dynamic voter string.")
        }
        return Voter(nodeID: nodeID, host: String(host), port: port, directoryID: directoryID)
    }
}
