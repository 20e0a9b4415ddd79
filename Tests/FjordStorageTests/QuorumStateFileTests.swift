import Foundation
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordStorage

/// `quorum-state`: Kafka's JSON byte for byte, read back, and corrupt files reported rather than trusted.
@Suite struct QuorumStateFileTests {
    private func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fjord-quorum-\(UUID().uuidString)/__cluster_metadata-0"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func versionOneIsKafkasJSONAndReadsBack() throws {
        let directory = try folder()
        let file = QuorumStateFile(partitionDirectory: directory)
        #expect(try file.read() == nil)
        let voted = KafkaUUID(base64URLEncoded: "JEXY6aqzQY-32P5TStzaFg")!
        let state = QuorumStateFile.State(leaderID: -1, leaderEpoch: 7, votedID: 2, votedDirectoryID: voted)
        try file.write(state)
        let text = try String(contentsOfFile: directory + "/quorum-state", encoding: .utf8)
        #expect(
            text == #"{"leaderId":-1,"leaderEpoch":7,"votedId":2,"votedDirectoryId":"JEXY6aqzQY-32P5TStzaFg","#
                + #""data_version":1}"#)
        #expect(try file.read() == state)
        #expect(!FileManager.default.fileExists(atPath: directory + "/quorum-state.tmp"))
    }

    @Test func versionZeroKeepsTheVoterList() throws {
        let file = QuorumStateFile(partitionDirectory: try folder())
        let state = QuorumStateFile.State(
            leaderID: 1, leaderEpoch: 3, votedID: -1, currentVoters: [1, 2, 3], dataVersion: 0)
        #expect(
            QuorumStateFile.encode(state)
                == #"{"clusterId":"","leaderId":1,"leaderEpoch":3,"votedId":-1,"appliedOffset":0,"#
                + #""currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}"#)
        try file.write(state)
        #expect(try file.read() == state)
    }

    /// What a Kafka 3.9 / 4.x controller wrote, with its trailing newline-free single line and unknown-field order.
    @Test func aFileKafkaWroteIsRead() throws {
        let directory = try folder()
        let kafka =
            #"{"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","leaderId":1,"leaderEpoch":12,"votedId":-1,"#
            + #""data_version":1,"futureField":[1,2]}"#
        try kafka.write(toFile: directory + "/quorum-state", atomically: false, encoding: .utf8)
        let state = try #require(try QuorumStateFile(partitionDirectory: directory).read())
        #expect(state == QuorumStateFile.State(leaderID: 1, leaderEpoch: 12, votedID: -1))
    }

    @Test(arguments: [
        ("", "empty"),
        ("not json", "not a JSON object"),
        (#"{"leaderId":1,"leaderEpoch":2,"votedId":-1}"#, "no data_version"),
        (#"{"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":7}"#, "data_version (7)"),
        (#"{"leaderId":1,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}"#, "'leaderEpoch'"),
        (#"{"leaderId":1,"leaderEpoch":2,"votedId":-1,"votedDirectoryId":"short","data_version":1}"#, "base64"),
        (#"{"leaderId":"one","leaderEpoch":2,"votedId":-1,"data_version":0}"#, "not a JSON object"),
    ])
    func corruptFilesAreErrorsNamingTheFile(text: String, message: String) throws {
        let directory = try folder()
        try text.write(toFile: directory + "/quorum-state", atomically: false, encoding: .utf8)
        do {
            _ = try QuorumStateFile(partitionDirectory: directory).read()
            Issue.record("'\(text)' was accepted")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.message.contains(directory + "/quorum-state"))
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func anOversizedFileIsRefusedBeforeItIsRead() throws {
        let directory = try folder()
        FileManager.default.createFile(atPath: directory + "/quorum-state", contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/quorum-state"))
        try handle.truncate(atOffset: UInt64(QuorumStateFile.maximumBytes) + 1)
        try handle.close()
        #expect(throws: LogError.self) { try QuorumStateFile(partitionDirectory: directory).read() }
    }
}
